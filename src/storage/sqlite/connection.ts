import type Database from 'better-sqlite3';

/**
 * The settings every connection to the store's file gets: WAL, the configured durability, and
 * how long to wait for another connection's write lock (the CLI, the audit writer thread).
 */
export function configureConnection(
  db: Database.Database,
  synchronous: 'normal' | 'full' = 'normal',
  busyTimeoutMs = 5000,
): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
}
