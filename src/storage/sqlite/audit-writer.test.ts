import { describe, expect, it } from 'vitest';
import { sampleEntry, tempAuditStore } from '../../../test/support/audit.js';
import { chainHash } from '../../security/audit/chain.js';
import type { Store } from '../types.js';
import type { SqliteAudit } from './audit-store.js';
import { openSqliteStore } from './store.js';

/** A store whose audit batches go to the writer thread from the first record on. */
function threaded(options: { idleMs?: number } = {}) {
  const temp = tempAuditStore();
  void temp.store.close();
  const store = openSqliteStore({
    path: `${temp.dir}/assistd.db`,
    auditWriter: { minRate: 0, minUtilization: 0 },
  });
  const writer = (store.audit as SqliteAudit).writer!;
  if (options.idleMs !== undefined) Object.assign(writer, { idleMs: options.idleMs });
  return { ...temp, store, writer };
}

async function expectOneChain(store: Store, count: number): Promise<void> {
  const records = await store.audit.query({ after: 0, limit: count + 10 });
  expect(records.map((record) => record.seq)).toEqual(
    Array.from({ length: count }, (_, index) => index + 1),
  );
  let prevHash: Buffer = Buffer.alloc(32);
  for (const record of records) {
    expect(record.prevHash).toEqual(prevHash);
    expect(record.hash).toEqual(chainHash(prevHash, record.seq, record));
    prevHash = record.hash;
  }
}

describe('the audit writer thread', () => {
  it('appends batches on its own connection, in one chain with the in-thread writes', async () => {
    const { store, writer, raw, dir } = threaded();
    // The first batch starts the thread and is written here; the thread takes the next ones.
    expect(await store.audit.append([sampleEntry(1)], chainHash)).toBe(1);
    expect(await writer.whenReady()).toBe(true);
    let seq = 1;
    for (let batch = 0; batch < 20; batch++) {
      const entries = [1, 2, 3].map((index) => sampleEntry(seq + index));
      seq = await store.audit.append(entries, chainHash);
    }
    expect(seq).toBe(61);
    expect(writer.batchesWritten).toBe(20);
    // Another connection (the CLI) writing in between joins the same chain.
    raw.close();
    const cli = openSqliteStore({ path: `${dir}/assistd.db` });
    expect(await cli.audit.append([sampleEntry(62)], chainHash)).toBe(62);
    await cli.close();
    expect(await store.audit.append([sampleEntry(63)], chainHash)).toBe(63);
    expect(writer.batchesWritten).toBe(21);
    await expectOneChain(store, 63);
    await store.close();
  });

  it('rejects a batch its transaction refused, writes none of it, and goes on', async () => {
    const { store, writer, raw } = threaded();
    await store.audit.append([sampleEntry(1)], chainHash);
    await writer.whenReady();
    raw.exec(`CREATE TRIGGER refuse_mallory BEFORE INSERT ON audit_records
      WHEN NEW.principal = 'mallory' BEGIN SELECT RAISE(ABORT, 'no mallory'); END;`);
    await expect(
      store.audit.append([sampleEntry(2), sampleEntry(3, { principal: 'mallory' })], chainHash),
    ).rejects.toMatchObject({ name: 'AuditWriterError', message: 'no mallory' });
    expect(await store.audit.append([sampleEntry(4)], chainHash)).toBe(2);
    expect(writer.batchesWritten).toBe(1);
    await expectOneChain(store, 2);
    raw.close();
    await store.close();
  });

  it('falls back to the event-loop thread when the thread dies, and stops when idle', async () => {
    const { store, writer, raw } = threaded({ idleMs: 300 });
    raw.close();
    await store.audit.append([sampleEntry(1)], chainHash);
    expect(await writer.whenReady()).toBe(true);
    await (writer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    expect(writer.running).toBe(false);
    // Written in-thread (and the count starts a new thread, which the next batches use).
    expect(await store.audit.append([sampleEntry(2)], chainHash)).toBe(2);
    expect(writer.batchesWritten).toBe(0);
    expect(await writer.whenReady()).toBe(true);
    expect(await store.audit.append([sampleEntry(3)], chainHash)).toBe(3);
    expect(writer.batchesWritten).toBe(1);
    // Idle for longer than idleMs: the thread is stopped and its memory given back (within two
    // idle checks; polled, since timers run late on a loaded machine).
    for (let waited = 0; writer.running && waited < 5000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(writer.running).toBe(false);
    await expectOneChain(store, 3);
    await store.close();
  });

  it('does not count a thread that is still starting as idle', async () => {
    // idleMs far shorter than a thread's start (loading its modules takes tens of milliseconds
    // at least): the idle check must wait for it to be ready.
    const { store, writer, raw } = threaded({ idleMs: 5 });
    raw.close();
    await store.audit.append([sampleEntry(1)], chainHash);
    expect(await writer.whenReady()).toBe(true);
    expect(await store.audit.append([sampleEntry(2)], chainHash)).toBe(2);
    expect(writer.batchesWritten).toBe(1);
    await store.close();
  });

  it('stands aside while the event-loop connection writes other tables (one lock, no waits)', async () => {
    const { store, writer, raw } = threaded();
    raw.close();
    await store.audit.append([sampleEntry(1)], chainHash);
    await writer.whenReady();
    expect(await store.audit.append([sampleEntry(2)], chainHash)).toBe(2);
    expect(writer.batchesWritten).toBe(1);
    // Its own checkpoint is not another writer.
    const head = (await store.audit.head())!;
    const checkpoint = { seq: 2, headHash: head.hash, at: 1, prevSignature: undefined, kid: 'k' };
    expect(
      await store.audit.insertCheckpoint({ ...checkpoint, signature: Buffer.alloc(8) }, undefined),
    ).toBe(true);
    expect(await store.audit.append([sampleEntry(3)], chainHash)).toBe(3);
    expect(writer.batchesWritten).toBe(2);
    // A revocation (as a chat turn would) is: the next batches are written here.
    await store.tokens.revoke({ id: 'jti-1', revokedAt: 1, expiresAt: 2 });
    expect(await store.audit.append([sampleEntry(4)], chainHash)).toBe(4);
    expect(await store.audit.append([sampleEntry(5)], chainHash)).toBe(5);
    expect(writer.batchesWritten).toBe(2);
    await expectOneChain(store, 5);
    await store.close();
  });

  it('lets close wait for the batches in flight', async () => {
    const { store, writer, dir, raw } = threaded();
    raw.close();
    await store.audit.append([sampleEntry(1)], chainHash);
    await writer.whenReady();
    const pending = [2, 3, 4].map((index) => store.audit.append([sampleEntry(index)], chainHash));
    await store.close();
    expect(await Promise.all(pending)).toEqual([2, 3, 4]);
    const reopened = openSqliteStore({ path: `${dir}/assistd.db` });
    await expectOneChain(reopened, 4);
    await reopened.close();
  });

  it('is not used while the event loop has time to spare', async () => {
    const temp = tempAuditStore();
    temp.raw.close();
    await temp.store.close();
    const store = openSqliteStore({
      path: `${temp.dir}/assistd.db`,
      auditWriter: { minRate: 0, minUtilization: 0.85 },
    });
    const writer = (store.audit as SqliteAudit).writer!;
    // Mostly waiting: well under 85 % busy.
    for (let index = 1; index <= 5; index++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      await store.audit.append([sampleEntry(index)], chainHash);
    }
    expect(writer.running).toBe(false);
    // A saturated loop (a quarter second of work with no pause) starts it. (The quarter second
    // before it was idle, and measured by the append that closes it.)
    await new Promise((resolve) => setTimeout(resolve, 260));
    await store.audit.append([sampleEntry(6)], chainHash);
    expect(writer.running).toBe(false);
    const until = performance.now() + 300;
    while (performance.now() < until);
    await store.audit.append([sampleEntry(7)], chainHash);
    expect(writer.running).toBe(true);
    await store.close();
  });

  it('is not used below the rate, nor for a store in memory', async () => {
    const temp = tempAuditStore();
    temp.raw.close();
    const store = openSqliteStore({
      path: `${temp.dir}/assistd.db`,
      auditWriter: { minRate: 50, minUtilization: 0 },
    });
    await temp.store.close();
    const writer = (store.audit as SqliteAudit).writer!;
    for (let index = 1; index <= 40; index++) {
      await store.audit.append([sampleEntry(index)], chainHash);
    }
    expect(writer.running).toBe(false);
    await store.audit.append(
      Array.from({ length: 10 }, (_, index) => sampleEntry(41 + index)),
      chainHash,
    );
    expect(writer.running).toBe(true);
    await store.close();
    const memory = openSqliteStore({
      path: ':memory:',
      auditWriter: { minRate: 0, minUtilization: 0 },
    });
    expect((memory.audit as SqliteAudit).writer).toBeUndefined();
    await memory.close();
  });
});
