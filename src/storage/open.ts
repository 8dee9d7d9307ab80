import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { readSecretFile } from '../config/load.js';
import { openSqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

/** Where the store lives, for logs and messages: never the password. */
export function describeStore(config: Readonly<Config>): string {
  const url = config.database.url;
  if (url === undefined) return `SQLite ${sqlitePath(config)}`;
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `PostgreSQL ${parsed.toString()} (schema ${config.database.schema})`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

export function sqlitePath(config: Readonly<Config>): string {
  return join(config.data_dir, 'assistd.db');
}

/**
 * The store `config` names: PostgreSQL when `database.url` is set (replicas share it), otherwise
 * the SQLite file in the data dir. Schemas are brought up to date either way.
 */
export async function openStore(
  config: Readonly<Config>,
  logger?: Logger,
  /** The server: audit batches may be written from a worker thread (`audit.writer_thread`). */
  options: { server?: boolean } = {},
): Promise<Store> {
  const database = config.database;
  if (database.url === undefined) {
    const threaded = options.server === true && config.audit.writer_thread;
    return openSqliteStore({
      path: sqlitePath(config),
      synchronous: config.storage.sqlite_synchronous,
      auditWriter: threaded
        ? {
            minRate: config.audit.writer_thread_min_rate,
            minUtilization: config.audit.writer_thread_min_utilization,
          }
        : undefined,
      logger,
    });
  }
  // Loaded only when configured: pg is not needed on the embedded defaults (idle memory).
  const { openPostgresStore } = await import('./postgres/store.js');
  return openPostgresStore({
    url: database.url,
    ...(database.password_file === undefined
      ? {}
      : { password: readSecretFile(database.password_file, 'database.password_file') }),
    schema: database.schema,
    poolSize: database.pool_size,
    connectTimeoutMs: database.connect_timeout_ms,
    statementTimeoutMs: database.statement_timeout_ms,
    ...(logger ? { logger } : {}),
  });
}
