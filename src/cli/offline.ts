import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { openSecurity, type SecurityContext } from '../security/index.js';
import { KeyringError } from '../security/keyring.js';
import { openAtRest } from '../security/sealer.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import type { Store } from '../storage/types.js';
import { UsageError, type CliIo } from './io.js';

/** What an offline command works on: the same data dir and keys as a running server. */
export interface Offline {
  config: Readonly<Config>;
  store: Store;
  security: SecurityContext;
}

/**
 * Opens the data dir the way `serve` does (config file, env, flags), runs `work`, and closes it.
 * Safe while the server runs: SQLite serialises the writers, and the server rereads keys it
 * does not know.
 */
export async function withOffline<T>(
  flags: ConfigFlags,
  io: CliIo,
  work: (offline: Offline) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const store = openSqliteStore({ path: join(config.data_dir, 'assistd.db') });
  try {
    const logger = createLogger('warn');
    const atRest = await openAtRest({ config, store, logger });
    try {
      const security = await openSecurity({ config, store, sealer: atRest.sealer });
      return await work({ config, store, security });
    } finally {
      await atRest.crypto.close();
    }
  } catch (error) {
    if (error instanceof KeyringError) throw new UsageError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}
