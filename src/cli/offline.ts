import { existsSync } from 'node:fs';
import { ensureDataDir } from '../util/data-dir.js';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../logger.js';
import {
  cliEntry,
  openAuditLog,
  repairAuditCheckpoints,
  type AuditLog,
} from '../security/audit/index.js';
import { CryptoError, type EnvelopeCrypto } from '../security/crypto/index.js';
import { openSecurity, type SecurityContext } from '../security/index.js';
import { KeyringError } from '../security/keyring.js';
import { openAtRest } from '../security/sealer.js';
import { openStore, sqlitePath } from '../storage/open.js';
import type { AuditDetailValue, Store } from '../storage/types.js';
import { UsageError, type CliIo } from './io.js';

/** What an offline command works on: the same data dir and keys as a running server. */
export interface Offline {
  config: Readonly<Config>;
  store: Store;
  security: SecurityContext;
  /** The encryption at rest (its master key is what `assistd crypto` manages). */
  crypto: EnvelopeCrypto;
  /** Records administrative operations (see `audited`); checkpointed when the command ends. */
  audit: AuditLog;
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
  ensureDataDir(config.data_dir);
  if (config.database.url === undefined && !existsSync(sqlitePath(config))) {
    // Allowed (tokens may be issued before the first start), but a mistyped --data-dir would
    // otherwise give a token no running server accepts, without a word.
    io.stderr(
      `assistd: note: ${config.data_dir} held no assistd data; a new data dir was started there\n`,
    );
  }
  const store = await openStore(config);
  try {
    const logger = createLogger('warn', { stderr: true });
    const atRest = await openAtRest({ config, store, logger });
    try {
      const security = await openSecurity({ config, store, sealer: atRest.sealer });
      await repairAuditCheckpoints({ config, store, keyring: security.keyring, logger });
      const audit = openAuditLog({
        config,
        store,
        keyring: security.keyring,
        logger,
        timer: false,
      });
      try {
        return await work({ config, store, security, crypto: atRest.crypto, audit });
      } finally {
        await audit.close();
      }
    } finally {
      await atRest.crypto.close();
    }
  } catch (error) {
    if (error instanceof KeyringError || error instanceof CryptoError) {
      throw new UsageError(error.message);
    }
    throw error;
  } finally {
    await store.close();
  }
}

/** What an audited operation fills in as it learns it (a new key's kid, a token's jti). */
export interface AuditNote {
  resource: string;
  details: Record<string, AuditDetailValue>;
}

/**
 * Runs one administrative operation and appends its audit record, whether it succeeded or
 * failed (with a short failure code, never the message). The record is written after the
 * operation: when it cannot be, the command fails (exit 1) saying the operation itself was done.
 */
export async function audited<T>(
  audit: AuditLog,
  action: string,
  note: AuditNote,
  operation: (note: AuditNote) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const record = (error: string | null) =>
    audit.append(
      cliEntry(
        {
          action,
          resource: note.resource,
          error,
          details: note.details,
          latencyMs: performance.now() - started,
        },
        Date.now(),
      ),
    );
  // What a killed server left is anchored before this record (see server.ts); the log closes
  // with another checkpoint over it.
  await audit.checkpoint();
  let result: T;
  try {
    result = await operation(note);
  } catch (error) {
    await record(failureCode(error)).catch(() => undefined);
    throw error;
  }
  try {
    await record(null);
  } catch {
    throw new UsageError(
      `${action} on ${note.resource} was done, but its audit record could not be written; ` +
        'check the data dir (assistd audit verify) before going on',
      1,
    );
  }
  return result;
}

function failureCode(error: unknown): string {
  if (error instanceof UsageError) return 'usage_error';
  if (error instanceof KeyringError) return 'keyring_error';
  if (error instanceof CryptoError) return 'crypto_error';
  return 'internal_error';
}
