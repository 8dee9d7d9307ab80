import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryOn, tempDir } from '../../test/support/backup.js';
import { backupFolder, FileChangedError } from './models.js';
import { LocalObjectStore } from './object-store/local.js';
import type { BackupRepository } from './repository.js';
import { restoreSnapshot } from './restore-models.js';

const temp = tempDir;

async function newRepository(): Promise<BackupRepository> {
  return (await repositoryOn(new LocalObjectStore(temp('objects')))).repository;
}

describe('reading the files of a backup', () => {
  it('reads a file again that changed while it was read, and stores it whole', async () => {
    const folder = temp('models');
    const path = join(folder, 'model.gguf');
    writeFileSync(path, randomBytes(3 * 1024 * 1024));
    const replacement = randomBytes(2 * 1024 * 1024 + 5);
    const repository = await newRepository();
    let rewritten = false;
    // After the first chunk: the rest of this read is the new content, its start the old.
    const result = await backupFolder(repository, folder, {
      progress: () => {
        if (rewritten) return;
        rewritten = true;
        writeFileSync(path, replacement);
      },
    });
    expect(rewritten).toBe(true);
    expect(result.snapshot.files[0]).toMatchObject({
      path: 'model.gguf',
      size: replacement.length,
    });
    const target = join(temp('restore'), 'models');
    await restoreSnapshot(repository, result.snapshot.id, target);
    expect(readFileSync(join(target, 'model.gguf')).equals(replacement)).toBe(true);
  });

  it('gives up on a file that keeps changing, naming it, and saves no snapshot', async () => {
    const folder = temp('models');
    const path = join(folder, 'model.gguf');
    writeFileSync(path, randomBytes(1024 * 1024));
    const repository = await newRepository();
    let writes = 0;
    const failure = await backupFolder(repository, folder, {
      // A new size each time: a change the check sees whatever the clock's granularity.
      progress: () => writeFileSync(path, randomBytes(1024 * 1024 + ++writes)),
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FileChangedError);
    expect((failure as Error).message).toContain(`${path} changed while it was read, 3 times`);
    expect(writes).toBeGreaterThanOrEqual(3);
    expect((await repository.readableSnapshots()).snapshots).toEqual([]);
  });

  it('skips names that are not UTF-8, naming them, and backs up the rest', async () => {
    const folder = temp('models');
    writeFileSync(join(folder, 'good.txt'), 'ok');
    const odd = (name: string) => Buffer.concat([Buffer.from(name), Buffer.from([0xff])]);
    writeFileSync(Buffer.concat([Buffer.from(`${folder}/`), odd('bad'), Buffer.from('name')]), '7');
    const oddFolder = Buffer.concat([Buffer.from(`${folder}/sub/`), odd('dir')]);
    mkdirSync(oddFolder, { recursive: true });
    writeFileSync(Buffer.concat([oddFolder, Buffer.from('/inside')]), 'x');
    const repository = await newRepository();
    const result = await backupFolder(repository, folder);
    expect(result.snapshot.files.map((file) => file.path)).toEqual(['good.txt']);
    expect(result.undecodable).toEqual(['bad\\xffname', 'sub/dir\\xff']);
    expect(result.skipped).toEqual(['bad\\xffname', 'sub/dir\\xff']);
  });
});
