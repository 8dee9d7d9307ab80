import { existsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { Config } from '../../config/schema.js';
import { Keyring, type KeyView, type SecretSealer } from '../../security/keyring.js';
import { describeStore, sqlitePath } from '../../storage/open.js';
import { SqliteSigningKeys } from '../../storage/sqlite/security-stores.js';
import type { SigningKeyStore } from '../../storage/types.js';
import { fail, messageOf, pass, warn, type Check, type CheckOutcome } from './check.js';
import { doctorPool } from './services-checks.js';

const dayMs = 86_400_000;

/** Listing keys never opens a private key; a sealer that refuses proves it. */
const refusingSealer: SecretSealer = {
  seal: () => {
    throw new Error('doctor never writes signing keys');
  },
  open: () => Promise.reject(new Error('doctor never opens private keys')),
};

/**
 * The signing keys in the store and the days until the active one is rotated. Reads without
 * creating anything: the SQLite file is opened read-only and only when it exists, PostgreSQL is
 * queried without running migrations (a missing table is a store nobody started yet).
 */
export function signingKeysCheck(config: Readonly<Config>, now: () => number = Date.now): Check {
  return {
    id: 'signing-keys',
    title: 'Signing keys',
    run: async ({ timeoutMs }) => {
      let opened;
      try {
        opened = await openKeyStore(config, timeoutMs);
      } catch (error) {
        if (isMissingTable(error)) return noKeyYet();
        return fail(`cannot read the keyring from ${describeStore(config)}: ${messageOf(error)}`);
      }
      if (opened === undefined) return noKeyYet();
      try {
        const keyring = new Keyring({
          store: opened.store,
          sealer: refusingSealer,
          clock: now,
          rotationMs: config.security.key_rotation_days * dayMs,
          maxTokenTtlMs: config.security.max_token_ttl_days * dayMs,
        });
        try {
          await keyring.load();
        } catch (error) {
          if (isMissingTable(error)) return noKeyYet();
          return fail(`cannot read the keyring from ${describeStore(config)}: ${messageOf(error)}`);
        }
        return describeKeys(keyring.list(), config, now());
      } finally {
        await opened.close();
      }
    },
  };
}

function noKeyYet(): CheckOutcome {
  return warn('no signing key yet: the server makes one on first start');
}

function describeKeys(keys: KeyView[], config: Readonly<Config>, now: number): CheckOutcome {
  const generated = keys.filter((key) => key.source === 'generated');
  const imported = keys.filter((key) => key.source === 'imported' && key.status !== 'retired');
  const extra = imported.length > 0 ? `; ${imported.length} imported public keys` : '';
  const active = keys.find((key) => key.status === 'active');
  if (active?.signsUntil !== undefined) {
    const days = Math.floor((active.signsUntil - now) / dayMs);
    return pass(
      `key ${active.kid.slice(0, 12)}… signs until ${new Date(active.signsUntil).toISOString()} ` +
        `(rotated in ${days} days; key_rotation_days ${config.security.key_rotation_days})${extra}`,
    );
  }
  if (generated.length === 0) {
    return imported.length > 0
      ? warn(`no signing key of this server yet (the server makes one on first start)${extra}`)
      : warn('no signing key yet: the server makes one on first start');
  }
  const last = generated.reduce((a, b) => (a.createdAt >= b.createdAt ? a : b));
  const overdue = last.signsUntil === undefined ? 0 : Math.floor((now - last.signsUntil) / dayMs);
  // Not a failure: the server rotates at start and hourly (security/key-upkeep.ts).
  return pass(
    `rotation overdue by ${overdue} days (key ${last.kid.slice(0, 12)}…): the server rotates it at start${extra}`,
  );
}

async function openKeyStore(
  config: Readonly<Config>,
  timeoutMs: number,
): Promise<{ store: SigningKeyStore; close(): Promise<void> } | undefined> {
  const database = config.database;
  if (database.url === undefined) {
    const path = sqlitePath(config);
    if (!existsSync(path)) return undefined;
    // A read-only connection to a WAL database makes the -wal and -shm files when they are
    // missing (after a clean shutdown) and cannot remove them; the ones it made are removed after.
    const sidecars = [`${path}-wal`, `${path}-shm`].filter((file) => !existsSync(file));
    const db = new Database(path, { readonly: true, fileMustExist: true });
    const close = async () => {
      db.close();
      await removeEmptySidecars(sidecars);
    };
    try {
      return { store: new SqliteSigningKeys(db), close };
    } catch (error) {
      await close();
      throw error;
    }
  }
  const pool = await doctorPool(database.url, database, timeoutMs, database.statement_timeout_ms);
  const { PostgresSigningKeys } = await import('../../storage/postgres/security-stores.js');
  return { store: new PostgresSigningKeys(pool), close: () => pool.end() };
}

/** SQLite "no such table", PostgreSQL undefined_table (42P01) or invalid_schema_name (3F000). */
function isMissingTable(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code;
  const causeCode = (error as { cause?: { code?: unknown } }).cause?.code;
  return (
    code === '42P01' ||
    code === '3F000' ||
    causeCode === '42P01' ||
    /no such table/.test(messageOf(error))
  );
}

/**
 * Removes the -wal and -shm files this connection made, when the -wal is still empty: a server
 * that opened the database meanwhile would have them in use, and its -wal would not be empty
 * once it wrote (it migrates or stamps at start), so a non-empty one is left alone.
 */
async function removeEmptySidecars(files: readonly string[]): Promise<void> {
  const wal = files.find((file) => file.endsWith('-wal'));
  if (wal !== undefined && (await stat(wal).catch(() => undefined))?.size !== 0) return;
  await Promise.all(files.map((file) => unlink(file).catch(() => undefined)));
}
