import pg from 'pg';
import type { Logger } from 'pino';
import { schemaNamePattern } from '../../config/scale-out-schema.js';
import { StoreUnavailableError, UnstorableTextError } from '../errors.js';

export interface PostgresOptions {
  /** `postgres://user@host:port/database`; the password may come from `PGPASSWORD` instead. */
  url: string;
  /** Overrides a password in the URL or `PGPASSWORD`. */
  password?: string;
  /** Schema holding assistd's tables (created when missing); `public` by default. */
  schema?: string;
  /** Connections at most (per process). */
  poolSize?: number;
  /** How long to wait for a connection, ms: a database that does not answer fails fast. */
  connectTimeoutMs?: number;
  /** Server-side limit on one statement, ms (0: none). */
  statementTimeoutMs?: number;
  /** How long a session may sit idle inside a transaction, ms (`idleInTransactionMs`). */
  idleInTransactionMs?: number;
  logger?: Logger;
}

const int8Oid = 20;

/** How long a session may sit idle inside a transaction before the server ends it, ms. */
export const idleInTransactionMs = 10_000;

/**
 * BIGINT columns hold milliseconds and sequence numbers, all below 2^53: read them as numbers
 * (pg returns strings by default). Pool-scoped, so nothing else in the process is affected.
 */
function parseInt8(value: string): number {
  return Number(value);
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === int8Oid && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Opens a pool whose sessions use `schema`; idle-connection errors are logged, never thrown. */
export function createPool(options: PostgresOptions): pg.Pool {
  const schema = options.schema ?? 'public';
  if (!schemaNamePattern.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const statementTimeout = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    ...(options.password === undefined ? {} : { password: options.password }),
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // A connection that stalls (a partition: no reset, no answer) must not hang its requests,
    // nor hold its locks over the other replicas. The server ends a session idle inside a
    // transaction after idleInTransactionMs (assistd's transactions never wait on the client),
    // which releases the audit table's lock; this side gives up on a query the server's
    // statement_timeout would have ended by then (`Query read timeout`: 503 store_unavailable)
    // and keeps TCP keep-alive probes going to notice a dead peer.
    options:
      `-c search_path=${schema} -c statement_timeout=${statementTimeout}` +
      ` -c idle_in_transaction_session_timeout=${options.idleInTransactionMs ?? idleInTransactionMs}`,
    ...(statementTimeout > 0 ? { query_timeout: statementTimeout + 5_000 } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'assistd',
    types,
  });
  // A connection that dies while idle (database restarted) emits here; without a listener the
  // process would crash. The pool drops it and opens a new one on the next query.
  pool.on('error', (error) => {
    options.logger?.warn({ err: error }, 'PostgreSQL connection lost; reconnecting on next use');
  });
  return pool;
}

const pgTransportMessage =
  /^(Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client has encountered a connection error|Client was closed|Query read timeout)/;

/** SQLSTATE classes and codes that mean "the database is not there", not "the query is wrong". */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    // pg's own errors carry no code: connection timeouts, ended pools, dropped connections.
    return error instanceof Error && pgTransportMessage.test(error.message);
  }
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up, recovering)
    code === '53300' || // too_many_connections
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code)
  );
}

/**
 * Rethrows connection-level failures as `StoreUnavailableError`, text PostgreSQL cannot hold as
 * `UnstorableTextError`, anything else as is.
 */
export function translate(error: unknown): never {
  if (error instanceof StoreUnavailableError) throw error;
  const code = (error as { code?: unknown }).code;
  if (code === '22021' || code === '22P05') {
    throw new UnstorableTextError(
      'The request holds a character the database cannot store or look up (a NUL, \\u0000).',
      { cause: error },
    );
  }
  if (isUnavailable(error)) {
    throw new StoreUnavailableError(
      `PostgreSQL is unavailable: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  throw error;
}

/** One statement; connection failures become `StoreUnavailableError`. */
export async function query<Row extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<Row>> {
  try {
    return await pool.query<Row>(text, values);
  } catch (error) {
    translate(error);
  }
}

/**
 * Runs `work` in a transaction on one connection: committed when it resolves, rolled back when it
 * throws. A connection whose rollback fails is destroyed rather than returned to the pool.
 */
export async function transaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    translate(error);
  }
  let broken = false;
  // A checked-out connection that dies (the server restarting) emits 'error' on the client, and
  // the pool listens only to idle ones: without this the process would crash. The failing query
  // rejects too, so the error is handled there.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that failed as a connection (dropped, or silent past the query timeout) is
    // not asked to roll back: that would wait out a second timeout on it. The server ends the
    // transaction when the session goes (or idles past idle_in_transaction_session_timeout).
    if (broken || isUnavailable(error)) broken = true;
    else {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
    }
    translate(error);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
