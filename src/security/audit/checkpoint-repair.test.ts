import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  silentLogger,
  tempAuditStore,
  testAuditLog,
  testSigner,
  writeSampleLog,
} from '../../../test/support/audit.js';
import type { Store } from '../../storage/types.js';
import { repairCheckpointFile } from './checkpoint-repair.js';
import { verifyAuditLog } from './verify.js';

let dir: string;
let store: Store;
let raw: Database.Database;
let checkpointFile: string;
let test: ReturnType<typeof testSigner>;

beforeEach(async () => {
  ({ dir, store, raw, checkpointFile } = tempAuditStore());
  test = testSigner();
  const publicKey = test.keys.get('test-key')!;
  await store.signingKeys.insert({
    kid: 'test-key',
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeySealed: undefined,
    source: 'generated',
    createdAt: 0,
    signsUntil: undefined,
    verifiesUntil: undefined,
    retiredAt: undefined,
  });
  const log = testAuditLog({ store: store.audit, signer: test.signer, checkpointFile });
  await writeSampleLog(log, 30, 10);
});
afterEach(async () => {
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const keys = () => Promise.resolve(test.keys);
const verify = () =>
  verifyAuditLog({ store: store.audit, keys: test.keys, checkpointFile, pageSize: 7 });
const lines = () => readFileSync(checkpointFile, 'utf8').split('\n').filter(Boolean);

describe('repairCheckpointFile', () => {
  it('copies the checkpoints a crash kept out of the file, and cuts a torn last line', async () => {
    const all = lines();
    expect(all).toHaveLength(3);
    // Killed after the table row of the last checkpoint, in the middle of writing its line.
    writeFileSync(checkpointFile, `${all.slice(0, 2).join('\n')}\n${all[2]!.slice(0, 40)}`);
    expect((await verify()).intact).toBe(false);
    expect(await repairCheckpointFile(store, checkpointFile, silentLogger, keys)).toEqual({
      cutBytes: 40,
      appended: 1,
    });
    expect(lines()).toEqual(all);
    expect((await verify()).intact).toBe(true);
    // Nothing to do the second time.
    expect(await repairCheckpointFile(store, checkpointFile, silentLogger, keys)).toEqual({
      cutBytes: 0,
      appended: 0,
    });
  });

  it('does not copy a checkpoint whose signature fails, nor fill a gap in the middle', async () => {
    const all = lines();
    // A forged newest row: re-signed garbage.
    raw.exec('DROP TRIGGER audit_checkpoints_no_update');
    raw.exec(`UPDATE audit_checkpoints SET signature = zeroblob(256) WHERE seq = 30`);
    writeFileSync(checkpointFile, `${all.slice(0, 2).join('\n')}\n`);
    expect((await repairCheckpointFile(store, checkpointFile, silentLogger, keys)).appended).toBe(
      0,
    );
    // A deleted middle line stays missing: verify reports it.
    writeFileSync(checkpointFile, `${all[0]}\n${all[2]}\n`);
    expect((await repairCheckpointFile(store, checkpointFile, silentLogger, keys)).appended).toBe(
      0,
    );
    expect((await verify()).intact).toBe(false);
  });
});
