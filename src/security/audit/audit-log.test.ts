import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  sampleEntry,
  tempAuditStore,
  testAuditLog,
  testSigner,
} from '../../../test/support/audit.js';
import { openSqliteStore } from '../../storage/sqlite/store.js';
import type { AuditStore, Store } from '../../storage/types.js';
import { AuditUnavailableError, type AuditLog } from './audit-log.js';
import type { CheckpointSigner } from './checkpoint.js';
import { verifyAuditLog } from './verify.js';

let dir: string;
let store: Store;
let raw: Database.Database;
let checkpointFile: string;
let signer: CheckpointSigner;

beforeEach(() => {
  ({ dir, store, raw, checkpointFile } = tempAuditStore());
  ({ signer } = testSigner());
});
afterEach(async () => {
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function log(overrides: Partial<ConstructorParameters<typeof AuditLog>[0]> = {}): AuditLog {
  return testAuditLog({ store: store.audit, signer, checkpointFile, ...overrides });
}

describe('AuditLog', () => {
  it('writes the records of one event-loop turn in one transaction (group commit)', async () => {
    const append = vi.spyOn(store.audit, 'append');
    const audit = log();
    await Promise.all(Array.from({ length: 50 }, (_, index) => audit.append(sampleEntry(index))));
    expect(append).toHaveBeenCalledTimes(1);
    expect(append.mock.calls[0]![0]).toHaveLength(50);
    await audit.append(sampleEntry(51));
    expect(append).toHaveBeenCalledTimes(2);
    const records = await store.audit.query({ after: 0, limit: 100 });
    expect(records.map((record) => record.seq)).toEqual(
      Array.from({ length: 51 }, (_, i) => i + 1),
    );
    await audit.close();
  });

  it('splits a large turn into bounded transactions', async () => {
    const append = vi.spyOn(store.audit, 'append');
    const audit = log({ maxBatch: 10 });
    await Promise.all(Array.from({ length: 25 }, (_, index) => audit.append(sampleEntry(index))));
    expect(append.mock.calls.map((call) => call[0].length)).toEqual([10, 10, 5]);
    await audit.close();
  });

  it('fails the records of a failed transaction, counts them, and recovers', async () => {
    const audit = log();
    raw.exec(`CREATE TRIGGER fail BEFORE INSERT ON audit_records
      BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    const results = await Promise.allSettled([
      audit.append(sampleEntry(1)),
      audit.append(sampleEntry(2)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError);
    expect(audit.auditWriteFailures).toBe(2);
    expect(audit.writable).toBe(true);
    raw.exec('DROP TRIGGER fail');
    await audit.append(sampleEntry(3));
    expect((await store.audit.head())?.seq).toBe(1);
    await audit.close();
  });

  it('records text that canonical JSON cannot hold, and the records beside it', async () => {
    // Found by the fuzz suite: a lone surrogate (here a principal, as a JWT's escaped `sub` can
    // carry) made its record unhashable and failed the whole transaction with 503.
    const { signer: ownSigner, keys } = testSigner();
    const audit = log({ signer: ownSigner, checkpointFile: undefined });
    const odd = {
      ...sampleEntry(1),
      principal: 'a\ud800b',
      userAgent: '\udfff',
      latencyMs: Number.NaN,
      // The address of a connection the client already reset (found by the local engine review).
      ip: undefined as unknown as string,
      details: { principal: '\ud800', groups: ['ok', 'x\udc00'], count: Number.POSITIVE_INFINITY },
    };
    await Promise.all([
      audit.append(sampleEntry(0)),
      audit.append(odd),
      audit.append(sampleEntry(2)),
    ]);
    const records = await store.audit.query({ after: 0, limit: 10 });
    expect(records).toHaveLength(3);
    expect(records[1]).toMatchObject({
      principal: 'a\ufffdb',
      userAgent: '\ufffd',
      ip: null,
      latencyMs: null,
      details: { principal: '\ufffd', groups: ['ok', 'x\ufffd'], count: null },
    });
    expect(audit.auditWriteFailures).toBe(0);
    await audit.close();
    const verified = await verifyAuditLog({ store: store.audit, keys, checkpointFile: undefined });
    expect(verified.problems).toEqual([]);
    expect(verified.intact).toBe(true);
    expect(verified.records).toBe(3);
  });

  it('refuses at once when too many records wait', async () => {
    const audit = log({ maxPending: 3 });
    const waiting = [1, 2, 3].map((index) => audit.append(sampleEntry(index)));
    await expect(audit.append(sampleEntry(4))).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(audit.auditWriteFailures).toBe(1);
    await Promise.all(waiting);
    await audit.close();
  });

  it('signs a checkpoint every N records and one at close', async () => {
    const audit = log({ checkpointEveryRecords: 5 });
    for (let index = 1; index <= 12; index++) {
      await audit.append(sampleEntry(index));
      // Joins the checkpoint the fifth record started (signing runs off the event loop).
      if (index % 5 === 0) await audit.checkpoint();
    }
    expect((await store.audit.lastCheckpoint())?.seq).toBe(10);
    await audit.close();
    const checkpoints = await store.audit.checkpoints();
    expect(checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([5, 10, 12]);
    expect(readFileSync(checkpointFile, 'utf8').trim().split('\n')).toHaveLength(3);
    await expect(audit.append(sampleEntry(13))).rejects.toBeInstanceOf(AuditUnavailableError);
  });

  it('signs a checkpoint on its timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval'] });
    try {
      const audit = log({ checkpointEveryMs: 1000 });
      await audit.append(sampleEntry(1));
      vi.advanceTimersByTime(1000);
      await audit.checkpoint();
      expect((await store.audit.lastCheckpoint())?.seq).toBe(1);
      await audit.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('anchors what it wrote before a pause its timer slept through, before writing more', async () => {
    let now = 1_700_000_000_000;
    const own = testSigner();
    // Its one-minute timer does not fire in this test's real time: the host is asleep.
    const audit = log({ signer: own.signer, checkpointEveryMs: 60_000, clock: () => now });
    await audit.append(sampleEntry(1, { at: now }));
    now += 60_000;
    await audit.append(sampleEntry(2, { at: now }));
    expect(await store.audit.lastCheckpoint()).toBeUndefined();
    now += 3 * 3_600_000; // the lid was closed
    await audit.append(sampleEntry(3, { at: now }));
    expect((await store.audit.lastCheckpoint())?.seq).toBe(2);
    await audit.close();
    const verified = await verifyAuditLog({
      store: store.audit,
      keys: own.keys,
      checkpointFile: undefined,
      checkpointEveryMs: 60_000,
    });
    expect(verified.problems).toEqual([]);
  });

  it('stops for good when the checkpoint file cannot be written', async () => {
    // A directory where the file should be: the append fails, as a failed fsync would.
    mkdirSync(checkpointFile, { recursive: true });
    const audit = log();
    await audit.append(sampleEntry(1));
    await audit.checkpoint();
    expect(audit.writable).toBe(false);
    expect(audit.auditWriteFailures).toBe(1);
    await expect(audit.append(sampleEntry(2))).rejects.toThrow(/checkpoint file/);
    expect(audit.auditWriteFailures).toBe(2);
    await audit.close();
  });

  it('keeps one chain when two writers (server and CLI) append at once', async () => {
    // A second connection to the same file, as the CLI has.
    const other = openSqliteStore({ path: join(dir, 'assistd.db') });
    const first = log();
    const second = testAuditLog({ store: other.audit, signer, checkpointFile });
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        (index % 2 === 0 ? first : second).append(sampleEntry(index)),
      ),
    );
    await first.close();
    await second.close();
    const result = await verifyAuditLog({
      store: store.audit,
      keys: new Map(),
      checkpointFile: undefined,
    });
    expect(result.records).toBe(40);
    expect(result.problems.filter((problem) => !problem.kind.startsWith('checkpoint'))).toEqual([]);
    await other.close();
  });

  it('writes nothing when disabled', async () => {
    const audit = log({ enabled: false, store: failingStore() });
    await audit.append(sampleEntry(1));
    await audit.close();
    expect(audit.auditWriteFailures).toBe(0);
  });

  it('still holds the replies of a turn until its end when disabled, as a commit would', async () => {
    const audit = log({ enabled: false, store: failingStore() });
    const settled: number[] = [];
    const appends = [1, 2].map((seq) =>
      audit.append(sampleEntry(seq)).then(() => settled.push(seq)),
    );
    // One promise for the whole turn, not settled within it.
    expect(audit.endOfTurn()).toBe(audit.endOfTurn());
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(settled).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([1, 2]);
    await Promise.all(appends);
    await audit.close();
  });
});

function failingStore(): AuditStore {
  const fail = () => Promise.reject(new Error('no store'));
  return {
    append: fail,
    head: fail,
    query: fail,
    latest: fail,
    checkpoints: fail,
    lastCheckpoint: fail,
    insertCheckpoint: fail,
  };
}
