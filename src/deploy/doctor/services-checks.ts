import { randomBytes } from 'node:crypto';
import { rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Pool } from 'pg';
import type { Config } from '../../config/schema.js';
import { openRedis } from '../../cache/redis.js';
import { readSecretFile } from '../../config/load.js';
import { ObjectDataKeys } from '../../backup/object-data-keys.js';
import { openObjectStore } from '../../backup/object-store/open.js';
import type { ObjectStore } from '../../backup/object-store/types.js';
import { CryptoError, openCrypto } from '../../security/crypto/index.js';
import { describeStore } from '../../storage/open.js';
import { fail, messageOf, pass, skip, type Check } from './check.js';

/**
 * PostgreSQL, Redis and object storage, each reached and put through a write-read-delete probe
 * that leaves nothing behind: a TEMP table (dropped, and gone with the session anyway), a key
 * with a 10 s expiry (deleted), an object under `doctor/` (deleted).
 */
export function servicesChecks(config: Readonly<Config>): Check[] {
  return [postgresCheck(config), redisCheck(config), objectStoreCheck(config)];
}

/**
 * A one-connection pool for a doctor check, with the check's timeout as its connect timeout.
 * pg is loaded only when a database is configured, as the server does.
 */
export async function doctorPool(
  url: string,
  database: Readonly<Config['database']>,
  timeoutMs: number,
  statementTimeoutMs: number,
): Promise<Pool> {
  const { createPool } = await import('../../storage/postgres/pool.js');
  return createPool({
    url,
    ...(database.password_file === undefined
      ? {}
      : { password: readSecretFile(database.password_file, 'database.password_file') }),
    schema: database.schema,
    poolSize: 1,
    connectTimeoutMs: Math.min(database.connect_timeout_ms, timeoutMs),
    statementTimeoutMs,
  });
}

function postgresCheck(config: Readonly<Config>): Check {
  return {
    id: 'postgres',
    title: 'PostgreSQL',
    run: async ({ timeoutMs }) => {
      const database = config.database;
      if (database.url === undefined)
        return skip('no database configured (SQLite in the data dir)');
      const pool = await doctorPool(database.url, database, timeoutMs, timeoutMs);
      const where = describeStore(config);
      try {
        const client = await pool.connect();
        try {
          const table = `assistd_doctor_${randomBytes(4).toString('hex')}`;
          const value = randomBytes(8).toString('hex');
          // pg_temp: the table lives in this session's temporary schema, never in database.schema.
          await client.query(`CREATE TEMP TABLE ${table} (value text) ON COMMIT PRESERVE ROWS`);
          await client.query(`INSERT INTO pg_temp.${table} (value) VALUES ($1)`, [value]);
          const { rows } = await client.query<{ value: string }>(
            `SELECT value FROM pg_temp.${table}`,
          );
          await client.query(`DROP TABLE pg_temp.${table}`);
          if (rows[0]?.value !== value) return fail(`${where}: the row read back differs`);
          const { rows: version } = await client.query<{ server_version: string }>(
            'SHOW server_version',
          );
          return pass(
            `${where}: write-read-delete ok (PostgreSQL ${version[0]?.server_version ?? '?'})`,
          );
        } finally {
          client.release(true);
        }
      } catch (error) {
        return fail(`${where}: ${messageOf(error)}`);
      } finally {
        await pool.end();
      }
    },
  };
}

function redisCheck(config: Readonly<Config>): Check {
  return {
    id: 'redis',
    title: 'Redis',
    run: async ({ signal, timeoutMs }) => {
      if (config.redis.url === undefined)
        return skip('no Redis configured (state stays in process)');
      const where = redactedUrl(config.redis.url);
      const shared = openRedis(config, pino({ level: 'silent' }))!;
      try {
        // The server's client never queues commands while offline: wait for it to connect.
        await new Promise<void>((resolve, reject) => {
          const client = shared.client;
          if (client.status === 'ready') return resolve();
          const timer = setTimeout(
            () => reject(new Error(`no connection within ${timeoutMs} ms`)),
            timeoutMs,
          );
          const stop = (error?: Error) => {
            clearTimeout(timer);
            client.off('ready', onReady);
            signal.removeEventListener('abort', onAbort);
            if (error) reject(error);
            else resolve();
          };
          const onReady = () => stop();
          const onAbort = () => stop(new Error('aborted'));
          client.once('ready', onReady);
          signal.addEventListener('abort', onAbort, { once: true });
        });
        const key = `${shared.prefix}doctor:${randomBytes(8).toString('hex')}`;
        const value = randomBytes(8).toString('hex');
        await shared.client.set(key, value, 'PX', 10_000);
        const back = await shared.client.get(key);
        await shared.client.del(key);
        if (back !== value) return fail(`${where}: the value read back differs`);
        return pass(`${where}: write-read-delete ok (prefix ${shared.prefix})`);
      } catch (error) {
        return fail(`${where}: ${messageOf(error)}`);
      } finally {
        // At once, without QUIT: a client still reconnecting would wait for the connection.
        shared.client.disconnect();
      }
    },
  };
}

function objectStoreCheck(config: Readonly<Config>): Check {
  return {
    id: 'object-store',
    title: 'Object storage',
    run: async () => {
      const settings = config.object_store;
      if (settings.s3 === undefined && settings.folder === undefined) {
        return skip('no object_store configured (a folder in the data dir, made when first used)');
      }
      const store = await openObjectStore(config);
      const key = `doctor/${randomBytes(8).toString('hex')}`;
      // A local folder gets the folders the put makes removed again (only those, only empty).
      const made =
        settings.s3 === undefined && settings.folder !== undefined
          ? await missingFolders([join(settings.folder, 'doctor'), settings.folder])
          : [];
      const data = randomBytes(32);
      try {
        await store.put(key, data);
        const back = await store.get(key);
        await store.delete(key);
        if (back === undefined || !Buffer.from(back).equals(data)) {
          return fail(`${store.location}: the object read back differs`);
        }
        const keys = await dataKeysOpen(config, store);
        if (keys !== undefined) return fail(`${store.location}: ${keys}`);
        return pass(`${store.location}: write-read-delete ok, its data keys open`);
      } catch (error) {
        await store.delete(key).catch(() => undefined);
        return fail(`${store.location}: ${messageOf(error)}`);
      } finally {
        store.close?.();
        for (const folder of made) await rmdir(folder).catch(() => undefined);
      }
    },
  };
}

/**
 * Why the data keys kept in the object store (backups, log shipping) do not open under the
 * configured master key file, as `serve` would find at start; undefined when they open or there
 * are none. Read only: nothing is stored, and no key file is made.
 */
async function dataKeysOpen(
  config: Readonly<Config>,
  objects: ObjectStore,
): Promise<string | undefined> {
  const store = new ObjectDataKeys(objects);
  if ((await store.list()).length === 0) return undefined;
  try {
    const crypto = await openCrypto({
      masterKeyFile: config.security.master_key_file,
      dataDir: config.data_dir,
      store,
      logger: silentCryptoLogger,
      readOnly: true,
    });
    await crypto.close();
    return undefined;
  } catch (error) {
    if (error instanceof CryptoError) return error.message;
    throw error;
  }
}

const silentCryptoLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'Redis (unparsable URL)';
  }
}

/** Those of `folders` (deepest first) that do not exist. */
async function missingFolders(folders: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const folder of folders) {
    if (
      !(await stat(folder).then(
        () => true,
        () => false,
      ))
    )
      missing.push(folder);
  }
  return missing;
}
