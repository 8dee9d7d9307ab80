import Database from 'better-sqlite3';
import { StartupError } from '../../providers/startup-error.js';
import { configureConnection } from './connection.js';
import { migrate } from './migrations.js';

/**
 * The file opened, configured and migrated; a file that is not a SQLite database, or a damaged
 * one, is a StartupError naming it (nothing is written to it).
 */
export function openDatabase(
  path: string,
  synchronous: 'normal' | 'full',
  busyTimeoutMs: number,
): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    configureConnection(db, synchronous, busyTimeoutMs);
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    const code = (error as { code?: unknown }).code;
    if (
      code === 'SQLITE_NOTADB' ||
      (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))
    ) {
      throw new StartupError(
        `${path} is not a usable SQLite database (${(error as Error).message}); it was left as ` +
          'it is. Restore the data dir from a backup (assistd restore --help), or move the file ' +
          'away to start with an empty one',
      );
    }
    throw error;
  }
}
