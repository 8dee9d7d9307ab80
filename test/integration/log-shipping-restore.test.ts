import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { readShippedLog } from '../../src/backup/log-restore.js';
import { LogShipper } from '../../src/backup/log-shipper.js';
import { openRepositoryCrypto } from '../../src/backup/open-repository.js';
import { RestoreError } from '../../src/backup/restore-models.js';
import { configSchema } from '../../src/config/schema.js';
import { runCliCaptured } from '../support/cli.js';
import { silentLogger } from '../support/encrypted-store.js';

/**
 * A data dir whose log shipping put `count` segments of two records each into its default object
 * folder (`<data_dir>/objects`); `paths[n]` is segment n's file there.
 */
async function shipped(count: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'assistd-log-restore-'));
  const { objects, crypto } = await openRepositoryCrypto(
    configSchema.parse({ data_dir: dataDir }),
    silentLogger,
  );
  const shipper = await LogShipper.open({
    folder: join(dataDir, 'conversation-log'),
    objects,
    crypto,
    logger: pino({ level: 'silent' }),
    maxDelayMs: 60_000,
  });
  for (let segment = 0; segment < count; segment++) {
    for (const index of [0, 1]) {
      await shipper.append({ type: 'delete', at: segment * 2 + index, principal: 'p', id: 'c' });
    }
    await shipper.drain();
  }
  await shipper.close();
  const folder = join(dataDir, 'objects', 'conversation-log', shipper.replicaId);
  const paths = readdirSync(folder)
    .sort()
    .map((name) => join(folder, name));
  expect(paths).toHaveLength(count);
  return { dataDir, objects, crypto, replica: shipper.replicaId, paths };
}

async function failure(work: Promise<unknown>): Promise<RestoreError> {
  const error = await work.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RestoreError);
  expect((error as RestoreError).damaged).toBe(true);
  return error as RestoreError;
}

describe('reading the shipped conversation log back', () => {
  it('reads every segment of a replica in order', async () => {
    const { objects, crypto } = await shipped(3);
    const log = await readShippedLog(objects, crypto);
    expect(log.segments).toBe(3);
    expect(log.records.map(({ record }) => record.at)).toEqual([0, 1, 2, 3, 4, 5]);
    await crypto.close();
  });

  it('refuses a log with a segment missing in the middle, at the start, or several', async () => {
    const { objects, crypto, replica, paths } = await shipped(5);
    await rm(paths[1]!);
    const middle = await failure(readShippedLog(objects, crypto));
    expect(middle.message).toContain(`replica ${replica} lacks segment 000000000001 `);
    await rm(paths[0]!);
    await rm(paths[3]!);
    const several = await failure(readShippedLog(objects, crypto));
    expect(several.message).toContain(
      `replica ${replica} lacks segments 000000000000 to 000000000001, 000000000003 `,
    );
    await crypto.close();
  });

  it('refuses a store without any segment, saying where it looked', async () => {
    const { objects, crypto, paths } = await shipped(1);
    await rm(paths[0]!);
    const empty = await failure(readShippedLog(objects, crypto));
    expect(empty.message).toMatch(/^no conversation-log segments in folder .*objects /);
    await crypto.close();
  });

  it('names a segment that does not match its checksum', async () => {
    const { objects, crypto, paths } = await shipped(2);
    const bytes = await readFile(paths[1]!);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(paths[1]!, bytes);
    const corrupt = await failure(readShippedLog(objects, crypto));
    expect(corrupt.message).toContain(`${paths[1]!.split('/objects/')[1]} does not match`);
    await crypto.close();
  });
});

describe('assistd restore conversations from a log that cannot be restored whole', () => {
  const restore = (dataDir: string, target: string) =>
    runCliCaptured(['restore', 'conversations', '--to', target, '--data-dir', dataDir], {
      cwd: dataDir,
    });

  it('fails on a gap, names it, and creates nothing', async () => {
    const { dataDir, crypto, replica, paths } = await shipped(3);
    await crypto.close();
    await rm(paths[1]!);
    const target = join(dataDir, 'new', 'restored');
    const result = await restore(dataDir, target);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`replica ${replica} lacks segment 000000000001`);
    expect(result.stderr).not.toContain('unexpected error');
    expect(existsSync(join(dataDir, 'new'))).toBe(false);
  });

  it('fails on a damaged segment without touching the target, and a retry succeeds', async () => {
    const { dataDir, crypto, paths } = await shipped(2);
    await crypto.close();
    const original = await readFile(paths[0]!);
    await writeFile(paths[0]!, Buffer.concat([original.subarray(0, 10), Buffer.alloc(1)]));
    // A target that already holds something: it stays as it was.
    const target = join(dataDir, 'restored');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'kept');
    const damaged = await restore(dataDir, target);
    expect(damaged.code, damaged.stderr).toBe(1);
    expect(damaged.stderr).toMatch(/^assistd: segment conversation-log\/.* does not match its/);
    expect(damaged.stderr).toMatch(/nothing was restored into SQLite .*assistd\.db/);
    expect(damaged.stderr).not.toContain('unexpected error');
    expect(readdirSync(target)).toEqual(['notes.txt']);

    await writeFile(paths[0]!, original);
    const retried = await restore(dataDir, target);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(/replayed 4 changes from 2 segments/);
  });

  it('fails when the object store holds no segment, saying where it looked', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-log-restore-'));
    const target = join(dataDir, 'restored');
    const result = await restore(dataDir, target);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`no conversation-log segments in folder ${dataDir}/objects`);
    expect(existsSync(target)).toBe(false);
  });
});

describe('assistd restore conversations into a store that fails', () => {
  it('removes the folders it made for the restore', async () => {
    const { dataDir, crypto } = await shipped(1);
    await crypto.close();
    const target = join(dataDir, 'new', 'restored');
    const result = await runCliCaptured(
      [
        'restore',
        'conversations',
        '--to',
        target,
        '--to-database-url',
        'postgres://assistd@127.0.0.1:1/assistd',
        '--data-dir',
        dataDir,
      ],
      { cwd: dataDir },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(existsSync(join(dataDir, 'new'))).toBe(false);
  });
});
