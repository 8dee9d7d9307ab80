import { readFileSync, rmSync, writeFileSync, type PathLike } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  sampleEntry,
  tamper,
  tempAuditStore,
  testAuditLog,
  testSigner,
  writeSampleLog,
} from '../../../test/support/audit.js';
import type { Store } from '../../storage/types.js';
import { chainHash } from './chain.js';
import type { CheckpointSigner } from './checkpoint.js';
import { acceptanceBytes, acceptGapAction } from './checkpoint-gap.js';
import { verifyAuditLog, VerifyRangeError } from './verify.js';

let dir: string;
let store: Store;
let raw: Database.Database;
let checkpointFile: string;
let signer: CheckpointSigner;
let keys: Map<string, KeyObject>;

/** 20 records with a checkpoint at 10 and at 20, written through the real writer. */
async function writeLog(count = 20, every = 10): Promise<void> {
  await writeSampleLog(testAuditLog({ store: store.audit, signer, checkpointFile }), count, every);
}

const verify = () => verifyAuditLog({ store: store.audit, keys, checkpointFile, pageSize: 7 });

beforeEach(() => {
  ({ dir, store, raw, checkpointFile } = tempAuditStore());
  ({ signer, keys } = testSigner());
});
afterEach(async () => {
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit verify', () => {
  it('finds an untouched log intact and fully anchored', async () => {
    await writeLog();
    const result = await verify();
    expect(result).toMatchObject({
      intact: true,
      records: 20,
      lastSeq: 20,
      checkpoints: 2,
      lastCheckpoint: { seq: 20, kid: 'test-key' },
      unanchored: null,
      checkpointFile: 'present',
      problems: [],
    });
  });

  it('names a modified record', async () => {
    await writeLog();
    tamper(raw, `UPDATE audit_records SET principal = 'mallory' WHERE seq = 7`);
    const result = await verify();
    expect(result.intact).toBe(false);
    expect(result.problems).toEqual([
      { kind: 'modified', seq: 7, message: 'record 7 does not match its hash' },
    ]);
  });

  it('names a modified status or details too (every field is hashed)', async () => {
    await writeLog();
    tamper(raw, `UPDATE audit_records SET status = 403 WHERE seq = 3`);
    tamper(raw, `UPDATE audit_records SET details = '{"x":1}' WHERE seq = 4`);
    expect((await verify()).problems.map((p) => [p.kind, p.seq])).toEqual([
      ['modified', 3],
      ['modified', 4],
    ]);
  });

  it('names a deleted record', async () => {
    await writeLog();
    tamper(raw, 'DELETE FROM audit_records WHERE seq = 12');
    expect((await verify()).problems).toEqual([
      { kind: 'missing', seq: 12, message: 'record 12 is missing' },
    ]);
  });

  it('names two swapped records', async () => {
    await writeLog();
    // Swap every column but seq: records 5 and 6 trade places.
    tamper(
      raw,
      `UPDATE audit_records SET seq = -5 WHERE seq = 5;
       UPDATE audit_records SET seq = 5 WHERE seq = 6;
       UPDATE audit_records SET seq = 6 WHERE seq = -5;`,
    );
    const problems = (await verify()).problems;
    expect(problems.map((p) => [p.kind, p.seq])).toEqual([
      ['reordered', 5],
      ['reordered', 6],
    ]);
    expect(problems[0]!.message).toContain('written as record 6');
  });

  it('reports a record added after the last checkpoint as unanchored', async () => {
    await writeLog();
    // Someone without the signing key appends a well-formed record with a valid hash.
    await store.audit.append([sampleEntry(21, { principal: 'forged' })], chainHash);
    const result = await verify();
    expect(result.intact).toBe(true);
    expect(result.unanchored).toEqual({ from: 21, to: 21 });
  });

  it('names a truncated tail', async () => {
    await writeLog();
    tamper(raw, 'DELETE FROM audit_records WHERE seq > 15');
    const result = await verify();
    expect(result.problems.map((p) => [p.kind, p.seq])).toEqual([['truncated', 16]]);
    expect(result.problems[0]!.message).toContain('records 16–20 were removed');
  });

  it('still sees the truncation when the last checkpoint is removed from the table too', async () => {
    await writeLog();
    tamper(
      raw,
      'DELETE FROM audit_records WHERE seq > 15; DELETE FROM audit_checkpoints WHERE seq = 20;',
    );
    const kinds = (await verify()).problems.map((p) => [p.kind, p.seq]);
    expect(kinds).toEqual([
      ['checkpoint-copy', 20],
      ['truncated', 16],
    ]);
  });

  describe('records that waited longer for a checkpoint than checkpoints allow', () => {
    const minute = 60_000;
    const base = 1_700_000_000_000;
    // Records 5 min apart, checkpointed every 10 (45 min a stretch): within what one-minute
    // checkpoints allow (2 × 60 s + 60 s, 5 min of clock skew, an hour's wait for a key: 68 min).
    const spaced = async (log = testAuditLog({ store: store.audit, signer, checkpointFile })) => {
      for (let index = 1; index <= 20; index++) {
        await log.append(sampleEntry(index, { at: base + index * 5 * minute }));
        if (index % 10 === 0) await log.checkpoint();
      }
      await log.close();
    };
    const removeCheckpoints = () => {
      tamper(raw, 'DELETE FROM audit_checkpoints');
      writeFileSync(checkpointFile, '');
    };
    const verifyEvery = (everyMs: number | undefined) =>
      verifyAuditLog({ store: store.audit, keys, checkpointFile, checkpointEveryMs: everyMs });

    it('are not a problem while checkpoints came as often as configured', async () => {
      await spaced();
      expect((await verifyEvery(minute)).problems).toEqual([]);
    });

    it('name every checkpoint removed from both copies', async () => {
      await spaced();
      removeCheckpoints();
      const result = await verifyEvery(minute);
      expect(result.intact).toBe(false);
      expect(result.problems).toEqual([
        {
          kind: 'checkpoint-gap',
          seq: 1,
          message: expect.stringMatching(
            /^records 1–20 waited 95 min for a checkpoint, but checkpoints are signed every 60 s/,
          ) as unknown,
        },
      ]);
      // Without the period (a caller that does not know it) it is only unanchored.
      expect(await verifyEvery(undefined)).toMatchObject({
        intact: true,
        unanchored: { from: 1, to: 20 },
      });
    });

    it('stay a gap when a checkpoint is signed over them later (as the next server would)', async () => {
      await spaced();
      removeCheckpoints();
      const next = testAuditLog({ store: store.audit, signer, checkpointFile });
      await next.append(sampleEntry(21, { at: base + 106 * minute }));
      await next.close();
      const result = await verifyEvery(minute);
      expect(result.unanchored).toBeNull();
      expect(result.gaps).toEqual([{ from: 1, to: 21, spanMs: 101 * minute }]);
    });

    it('are taken once accepted by a signed and anchored record (audit accept-gaps)', async () => {
      await spaced();
      removeCheckpoints();
      const [twentieth] = await store.audit.query({ after: 19, limit: 1 });
      // As `audit accept-gaps` does: a checkpoint closes the gap, then the acceptance is recorded.
      const accept = async (signature: Buffer) => {
        const log = testAuditLog({ store: store.audit, signer, checkpointFile });
        await log.checkpoint();
        await log.append(
          sampleEntry(21, {
            at: base + 106 * minute,
            source: 'cli',
            action: acceptGapAction,
            details: { from: 1, to: 20, kid: 'test-key', signature: signature.toString('base64') },
          }),
        );
        await log.close();
      };
      // An acceptance no key of this server signed (anyone can write the record) is not taken.
      await accept(Buffer.alloc(256, 1));
      expect((await verifyEvery(minute)).gaps).toEqual([{ from: 1, to: 20, spanMs: 95 * minute }]);
      const { signature } = await signer.sign(acceptanceBytes(1, 20, twentieth!.hash));
      await accept(signature);
      const result = await verifyEvery(minute);
      expect(result.gaps).toEqual([]);
      expect(result.problems).toEqual([]);
      // Dated outside its key's signing period (a key that leaked later), it is not taken.
      const late = new Map([['test-key', { from: base + 200 * minute, until: undefined }]]);
      const outside = await verifyAuditLog({
        store: store.audit,
        keys,
        checkpointFile,
        checkpointEveryMs: minute,
        periods: late,
      });
      expect(outside.gaps).toEqual([{ from: 1, to: 20, spanMs: 95 * minute }]);
    });

    it('take no acceptance that no checkpoint anchors', async () => {
      await spaced();
      removeCheckpoints();
      const [twentieth] = await store.audit.query({ after: 19, limit: 1 });
      const { signature } = await signer.sign(acceptanceBytes(1, 20, twentieth!.hash));
      await store.audit.append(
        [
          sampleEntry(21, {
            at: base + 106 * minute,
            source: 'cli',
            action: acceptGapAction,
            details: { from: 1, to: 20, kid: 'test-key', signature: signature.toString('base64') },
          }),
        ],
        chainHash,
      );
      expect((await verifyEvery(minute)).problems.map((p) => p.kind)).toEqual(['checkpoint-gap']);
    });
  });

  it('names a forged checkpoint signature', async () => {
    await writeLog();
    const forged = Buffer.alloc(256, 7).toString('base64url');
    tamper(raw, `UPDATE audit_checkpoints SET signature = zeroblob(256) WHERE seq = 10`);
    rewriteFile(checkpointFile, (line) =>
      line.includes('"seq":10')
        ? line.replace(/"signature":"[^"]+"/, `"signature":"${forged}"`)
        : line,
    );
    const problems = (await verify()).problems.map((p) => [p.kind, p.seq]);
    expect(problems).toContainEqual(['checkpoint-signature', 10]);
    // The next checkpoint no longer links to it either.
    expect(problems).toContainEqual(['checkpoint-chain', 20]);
  });

  it('names a chain rebuilt with valid hashes by the checkpoint it contradicts', async () => {
    await writeLog();
    // Rewrite record 3 and rehash everything after it: each record matches its own hash and its
    // predecessor, but no longer what checkpoint 10 signed.
    const rows = raw.prepare('SELECT seq FROM audit_records WHERE seq >= 3 ORDER BY seq').all();
    tamper(raw, `UPDATE audit_records SET principal = 'mallory' WHERE seq = 3`);
    const records = await store.audit.query({ after: 0, limit: 100 });
    let prev = records[1]!.hash;
    for (const { seq } of rows as Array<{ seq: number }>) {
      const record = records[seq - 1]!;
      const hash = chainHash(prev, seq, record);
      raw
        .prepare('UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?')
        .run(prev, hash, seq);
      prev = hash;
    }
    const problems = (await verify()).problems.map((p) => [p.kind, p.seq]);
    expect(problems).toEqual([
      ['checkpoint-mismatch', 10],
      ['checkpoint-mismatch', 20],
    ]);
  });

  it('names a replaced record by the broken link after it', async () => {
    await writeLog();
    const record = (await store.audit.query({ after: 6, limit: 1 }))[0]!;
    const hash = chainHash(record.prevHash, 7, { ...record, principal: 'mallory' });
    tamper(raw, `UPDATE audit_records SET principal = 'mallory' WHERE seq = 7`);
    raw.prepare('UPDATE audit_records SET hash = ? WHERE seq = 7').run(hash);
    const problems = (await verify()).problems;
    expect(problems.map((p) => [p.kind, p.seq])).toEqual([['broken-link', 8]]);
    expect(problems[0]!.message).toContain('record 7 was replaced');
  });

  it('checks from a checkpoint on: what changed after it, not before it, and every checkpoint', async () => {
    await writeLog(30);
    tamper(
      raw,
      `UPDATE audit_records SET principal = 'mallory' WHERE seq IN (5, 25);
       DELETE FROM audit_records WHERE seq = 27;`,
    );
    const from = (fromCheckpoint: number) =>
      verifyAuditLog({ store: store.audit, keys, checkpointFile, pageSize: 7, fromCheckpoint });
    const recent = await from(20);
    expect(recent).toMatchObject({ intact: false, from: 20, records: 10, lastSeq: 30 });
    expect(recent.problems.map((p) => [p.kind, p.seq])).toEqual([
      ['modified', 25],
      ['missing', 27],
    ]);
    expect((await verify()).problems.map((p) => [p.kind, p.seq])).toEqual([
      ['modified', 5],
      ['modified', 25],
      ['missing', 27],
    ]);
    // The checkpoint's own record is checked too, and a forged checkpoint 10 still shows.
    tamper(
      raw,
      `UPDATE audit_records SET principal = 'mallory' WHERE seq = 20;
       UPDATE audit_checkpoints SET signature = zeroblob(256) WHERE seq = 10;`,
    );
    rmSync(checkpointFile);
    expect((await from(20)).problems.map((p) => [p.kind, p.seq])).toEqual([
      ['checkpoint-copy', null],
      ['checkpoint-signature', 10],
      ['checkpoint-chain', 20],
      ['modified', 20],
      ['modified', 25],
      ['missing', 27],
    ]);
  });

  it('starts only from a checkpoint whose signature verifies', async () => {
    await writeLog(30);
    const from = (fromCheckpoint: number) =>
      verifyAuditLog({ store: store.audit, keys, checkpointFile, fromCheckpoint });
    await expect(from(15)).rejects.toThrow(
      new VerifyRangeError(
        '15 is not the record of a checkpoint whose signature verifies (the latest is 30)',
      ),
    );
    tamper(raw, `UPDATE audit_checkpoints SET signature = zeroblob(256) WHERE seq = 10`);
    rmSync(checkpointFile);
    await expect(from(10)).rejects.toThrow(VerifyRangeError);
    expect(await from(30)).toMatchObject({ from: 30, records: 1 });
  });

  it('reports checkpoints missing from the file and a missing file', async () => {
    await writeLog();
    rewriteFile(checkpointFile, (line) => (line.includes('"seq":20') ? '' : line));
    expect((await verify()).problems.map((p) => [p.kind, p.seq])).toEqual([
      ['checkpoint-copy', 20],
    ]);
    rmSync(checkpointFile);
    const result = await verify();
    expect(result.checkpointFile).toBe('absent');
    expect(result.problems.map((p) => p.kind)).toEqual(['checkpoint-copy']);
  });

  it("with a table replicas share, takes the other replicas' checkpoints as theirs, not as lines removed", async () => {
    await writeLog();
    const shared = () =>
      verifyAuditLog({ store: store.audit, keys, checkpointFile, pageSize: 7, sharedTable: true });
    // This replica signed the first checkpoint; another one the second.
    rewriteFile(checkpointFile, (line) => (line.includes('"seq":20') ? '' : line));
    expect(await shared()).toMatchObject({ intact: true, problems: [] });
    // A replica that has signed none yet has no file.
    const kept = readFileSync(checkpointFile, 'utf8');
    rmSync(checkpointFile);
    expect(await shared()).toMatchObject({ intact: true, checkpointFile: 'absent', problems: [] });
    // What the file holds must still be in the table, unchanged.
    writeFileSync(checkpointFile, kept);
    raw.exec('DROP TRIGGER audit_checkpoints_no_delete');
    raw.exec('DELETE FROM audit_checkpoints WHERE seq = 10');
    expect((await shared()).problems.map((p) => [p.kind, p.seq])).toContainEqual([
      'checkpoint-copy',
      10,
    ]);
  });

  it("counts a checkpoint only when dated in its key's signing period, and not before its record", async () => {
    await writeLog();
    const withPeriods = (periods: Map<string, { from: number; until: number | undefined }>) =>
      verifyAuditLog({ store: store.audit, keys, checkpointFile, pageSize: 7, periods });
    expect(await withPeriods(new Map([['test-key', { from: 0, until: undefined }]]))).toMatchObject(
      { intact: true, problems: [] },
    );
    // A key that stopped signing in 2023 (retired, then leaked) cannot sign checkpoints dated now.
    const retired = await withPeriods(
      new Map([['test-key', { from: 0, until: 1_700_000_000_000 }]]),
    );
    expect(retired.problems.map((p) => [p.kind, p.seq])).toEqual([
      ['checkpoint-signature', 10],
      ['checkpoint-signature', 20],
    ]);
    // Nor backdate one to its period: a checkpoint is never older than the record it signs.
    const {
      dir: otherDir,
      store: other,
      raw: otherRaw,
      checkpointFile: otherFile,
    } = tempAuditStore();
    try {
      await writeSampleLog(
        testAuditLog({
          store: other.audit,
          signer,
          checkpointFile: otherFile,
          clock: () => 1_600_000_000_000,
        }),
        20,
        10,
      );
      const backdated = await verifyAuditLog({
        store: other.audit,
        keys,
        checkpointFile: otherFile,
        periods: new Map([['test-key', { from: 0, until: 1_650_000_000_000 }]]),
      });
      expect(backdated.problems.map((p) => [p.kind, p.seq])).toEqual([
        ['checkpoint-mismatch', 10],
        ['checkpoint-mismatch', 20],
      ]);
    } finally {
      otherRaw.close();
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('needs the signing key: a checkpoint by an unknown key does not count', async () => {
    await writeLog();
    const result = await verifyAuditLog({
      store: store.audit,
      keys: testSigner().keys,
      checkpointFile,
    });
    expect(result.problems.map((p) => [p.kind, p.seq])).toEqual([
      ['checkpoint-signature', 10],
      ['checkpoint-signature', 20],
    ]);
    expect(result.unanchored).toEqual({ from: 1, to: 20 });
  });
});

function rewriteFile(path: PathLike, change: (line: string) => string): void {
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map(change);
  writeFileSync(path, `${lines.filter(Boolean).join('\n')}\n`);
}
