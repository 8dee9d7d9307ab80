import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dropTestSchemas, testDatabaseUrl } from '../../../test/support/postgres.js';
import { StoreUnavailableError } from '../errors.js';
import { createPool, query, transaction } from './pool.js';

afterAll(dropTestSchemas);

/** Notes each statement `client` is sent from now on (what a failed transaction still sends). */
function recordQueries(client: object, sent: string[]): void {
  const target = client as { query: (text: string) => Promise<unknown> };
  const query = target.query.bind(client);
  target.query = (text) => {
    sent.push(text);
    return query(text);
  };
}

describe('the PostgreSQL pool', () => {
  it('does not ask a connection that failed as a connection to roll back (a second timeout)', async () => {
    const pool = createPool({ url: testDatabaseUrl });
    const sent: string[] = [];
    try {
      const lost = new Error('Query read timeout');
      await expect(
        transaction(pool, async (client) => {
          recordQueries(client, sent);
          throw lost;
        }),
      ).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(sent).toEqual([]);
      // A failure of the statement itself is rolled back as before.
      await expect(
        transaction(pool, async (client) => {
          recordQueries(client, sent);
          throw Object.assign(new Error('duplicate key'), { code: '23505' });
        }),
      ).rejects.toMatchObject({ code: '23505' });
      expect(sent).toEqual(['ROLLBACK']);
    } finally {
      await pool.end();
    }
  });

  it('does not let a session that stalls inside a transaction hold its lock over the others', async () => {
    const table = `stall_${process.pid}_${Date.now()}`;
    const stalled = createPool({ url: testDatabaseUrl, idleInTransactionMs: 300 });
    const other = createPool({ url: testDatabaseUrl, statementTimeoutMs: 5_000 });
    try {
      await query(other, `CREATE TABLE ${table} (n int)`);
      // A replica takes the lock and its network goes quiet: the transaction never ends.
      const held = transaction(stalled, async (client) => {
        await client.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
        await sleep(1_500);
        await client.query('SELECT 1');
      });
      const failed = held.then(
        () => undefined,
        (error: unknown) => error,
      );
      await sleep(100);
      // The server ends that session, and with it the lock: the others go on.
      const started = Date.now();
      await transaction(other, (client) => client.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`));
      expect(Date.now() - started).toBeLessThan(1_400);
      expect(await failed).toBeInstanceOf(StoreUnavailableError);
      const settings = await query<{ idle: string; statement: string }>(
        other,
        "SELECT current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('statement_timeout') AS statement",
      );
      expect(settings.rows[0]).toEqual({ idle: '10s', statement: '5s' });
    } finally {
      await query(other, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await stalled.end();
      await other.end();
    }
  });
});
