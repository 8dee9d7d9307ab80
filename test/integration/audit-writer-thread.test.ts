import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';
import { runCliCaptured } from '../support/cli.js';

// The audit log over HTTP with its writer thread taking every batch (min rate 0): the records
// of concurrent requests form one verified chain, and a failed write still fails closed.
let harness: Harness;

beforeAll(async () => {
  harness = await Harness.start({
    config: {
      audit: {
        writer_thread_min_rate: 0,
        writer_thread_min_utilization: 0,
        checkpoint_every_records: 50,
      },
      limits: { requests_per_minute: 100_000, request_burst: 100_000 },
    },
  });
});
afterAll(async () => {
  await harness.close();
});

/** Batches the writer thread appended, from the store behind the audit log. */
const threadBatches = () =>
  (harness.server.audit as unknown as { store: { threadBatches?: number } }).store.threadBatches;

const ok = async (path: string) => (await harness.request(path)).status;

describe('the audit writer thread in the server', () => {
  it('writes concurrent requests’ records from the thread, in one verified chain', async () => {
    // The first record starts the thread; wait until it writes.
    await ok('/v1/models');
    for (
      let waited = 0;
      !/from a worker thread/.test(harness.logs()) && waited < 5000;
      waited += 20
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(harness.logs()).toMatch(/audit records are written from a worker thread/);
    for (let round = 0; round < 10; round++) {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => ok('/v1/models')));
      expect(statuses.every((status) => status === 200)).toBe(true);
    }
    const page = await harness.json<{ data: Array<{ seq: number; resource: string }> }>(
      '/admin/audit?limit=1000',
    );
    expect(page.body.data.filter((record) => record.resource === '/v1/models')).toHaveLength(201);
    // The thread wrote them (batches: many records share one transaction).
    expect(threadBatches()).toBeGreaterThan(0);
  });

  it('fails closed when the thread cannot write a record', async () => {
    const db = new Database(join(harness.dataDir, 'assistd.db'));
    db.exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_records
      BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    try {
      const refused = await harness.json<{ error: { code: string } }>('/v1/models');
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('audit_unavailable');
      expect(harness.logs()).toMatch(/audit log write failed/);
    } finally {
      db.exec('DROP TRIGGER audit_broken');
      db.close();
    }
    expect(await ok('/v1/models')).toBe(200);
  });

  it('leaves a chain that audit verify accepts after shutdown', async () => {
    await harness.server.shutdown('writer thread test');
    const verified = await runCliCaptured(
      ['audit', 'verify', '--strict', '--data-dir', harness.dataDir],
      { cwd: harness.dataDir },
    );
    expect(verified.stdout).toMatch(/OK: every record matches/);
    expect(verified.code).toBe(0);
  });
});
