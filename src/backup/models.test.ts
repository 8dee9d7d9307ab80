import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  symlinkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
  utimesSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryOn, tempDir } from '../../test/support/backup.js';
import { S3Server } from '../../test/support/s3.js';
import { backupFolder, pruneRepository, verifyRepository } from './models.js';
import { RestoreError, restoreSnapshot } from './restore-models.js';
import { LocalObjectStore } from './object-store/local.js';
import { S3ObjectStore } from './object-store/s3.js';
import { BackupRepository } from './repository.js';
import { RepositoryLockedError } from './repository-lock.js';

const temp = tempDir;
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function modelFolder(): string {
  const folder = temp('models');
  mkdirSync(join(folder, 'llama', 'tokenizer'), { recursive: true });
  writeFileSync(join(folder, 'llama', 'model.gguf'), randomBytes(3 * 1024 * 1024 + 17));
  writeFileSync(join(folder, 'llama', 'tokenizer', 'vocab.json'), '{"a":1}');
  writeFileSync(join(folder, 'empty.txt'), '');
  chmodSync(join(folder, 'empty.txt'), 0o640);
  utimesSync(
    join(folder, 'empty.txt'),
    new Date('2026-01-02T03:04:05Z'),
    new Date('2026-01-02T03:04:05Z'),
  );
  return folder;
}

function expectSameFolder(original: string, restored: string, paths: string[]): void {
  for (const path of paths) {
    expect(sha(join(restored, path)), path).toBe(sha(join(original, path)));
    const [a, b] = [statSync(join(original, path)), statSync(join(restored, path))];
    expect(b.mode & 0o777, path).toBe(a.mode & 0o777);
    // utimes sets whole microseconds: the restored time is the microsecond nearest to mtimeMs * 1000.
    // At today's dates mtimeMs (a double in ms, ~1.8e12) is within 122 ns of the file's time and
    // mtimeMs * 1000 adds up to 125 ns more (half a step of a double near 1.8e15), so the restored
    // time is within 500 + 122 + 125 ns of the original (CI once saw 702 ns).
    const restoredNs = statSync(join(restored, path), { bigint: true }).mtimeNs;
    const originalNs = statSync(join(original, path), { bigint: true }).mtimeNs;
    expect(restoredNs, path).toBe(BigInt(Math.round(a.mtimeMs * 1000)) * 1000n);
    const off = restoredNs - originalNs;
    expect(off < 0n ? -off : off, path).toBeLessThanOrEqual(500n + 122n + 125n);
  }
}

const files = ['empty.txt', 'llama/model.gguf', 'llama/tokenizer/vocab.json'];

describe('model backups in a local folder', () => {
  it('restore byte for byte, with modes and times, and store nothing twice', async () => {
    const folder = modelFolder();
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const first = await backupFolder(repository, folder);
    expect(first.files).toBe(3);
    expect(first.newChunks).toBeGreaterThan(1);
    const again = await backupFolder(repository, folder);
    expect(again).toMatchObject({ newChunks: 0, addedBytes: 0, unchangedFiles: 3 });

    const target = join(temp('restore'), 'models');
    expect(await restoreSnapshot(repository, first.snapshot.id, target)).toEqual({
      files: 3,
      bytes: first.totalBytes,
    });
    expectSameFolder(folder, target, files);
    await expect(restoreSnapshot(repository, first.snapshot.id, target)).rejects.toThrow(
      /not empty/,
    );
    // Restored in place, the folder's next backup finds every file unchanged and reads none.
    rmSync(folder, { recursive: true });
    await restoreSnapshot(repository, first.snapshot.id, folder);
    expect(await backupFolder(repository, folder)).toMatchObject({
      newChunks: 0,
      unchangedFiles: 3,
    });
    expect(await verifyRepository(repository)).toMatchObject({ snapshots: 3, problems: [] });
  });

  it('uploads under 5 MiB after 1 MiB changes in the middle of a 200 MiB file', async () => {
    // Seeded bytes (an AES-CTR keystream), so the chunk boundaries, and the figure, are the same
    // every run: with fresh random bytes the edited chunks (up to 4 MiB each) went past 5 MiB now
    // and then (6.2 MiB once in CI), while most runs added 2–3 MiB.
    const stream = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 1));
    const seeded = (length: number) => stream.update(Buffer.alloc(length));
    const folder = temp('big');
    const path = join(folder, 'big.gguf');
    const handle = await open(path, 'w');
    for (let mib = 0; mib < 200; mib += 8) await handle.write(seeded(8 * 1024 * 1024));
    await handle.close();
    const originalHash = sha(path);
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const first = await backupFolder(repository, folder);
    expect(first.totalBytes).toBe(200 * 1024 * 1024);

    const edit = await open(path, 'r+');
    await edit.write(seeded(1024 * 1024), 0, 1024 * 1024, 100 * 1024 * 1024);
    await edit.close();
    const second = await backupFolder(repository, folder);
    expect(second.addedBytes).toBeLessThan(5 * 1024 * 1024);
    console.log(
      `200 MiB file, 1 MiB changed: ${(second.addedBytes / 1024 / 1024).toFixed(2)} MiB in ${second.newChunks} new chunks`,
    );

    const older = join(temp('restore'), 'older');
    await restoreSnapshot(repository, first.snapshot.id, older);
    expect(sha(join(older, 'big.gguf'))).toBe(originalHash);
    const newer = join(temp('restore'), 'newer');
    await restoreSnapshot(repository, second.snapshot.id, newer);
    expect(sha(join(newer, 'big.gguf'))).toBe(sha(path));
  }, 120_000);

  it('verify finds a corrupted chunk and a missing one', async () => {
    const folder = modelFolder();
    const objects = new LocalObjectStore(temp('objects'));
    const { repository } = await repositoryOn(objects);
    await backupFolder(repository, folder);
    const chunks = [...(await repository.chunkHashes())];
    const corrupt = BackupRepository.chunkKey(chunks[0]!);
    const sealed = Buffer.from((await objects.get(corrupt))!);
    sealed.writeUInt8(sealed.readUInt8(sealed.length - 1) ^ 1, sealed.length - 1);
    await objects.put(corrupt, sealed);
    await objects.delete(BackupRepository.chunkKey(chunks[1]!));
    const result = await verifyRepository(repository);
    expect(result.problems.some((line) => line.startsWith(`chunk ${chunks[0]}`))).toBe(true);
    expect(result.problems.some((line) => /lacks 1 chunks/.test(line))).toBe(true);
  });

  it('restores all or nothing: a damaged or missing chunk leaves the target as it was', async () => {
    const folder = modelFolder();
    const objects = new LocalObjectStore(temp('objects'));
    const { repository } = await repositoryOn(objects);
    const { snapshot } = await backupFolder(repository, folder);
    // The last file restored: the two before it are written by then.
    const vocab = snapshot.files.find((file) => file.path === 'llama/tokenizer/vocab.json')!;
    const key = BackupRepository.chunkKey(vocab.chunks[0]!);
    const sealed = Buffer.from((await objects.get(key))!);
    const damaged = Buffer.from(sealed);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 1, damaged.length - 1);
    await objects.put(key, damaged);

    const absent = join(temp('restore'), 'models');
    const failure = await restoreSnapshot(repository, snapshot.id, absent).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RestoreError);
    expect((failure as RestoreError).damaged).toBe(true);
    expect((failure as Error).message).toContain(
      `cannot restore llama/tokenizer/vocab.json: its chunk ${vocab.chunks[0]} is damaged`,
    );
    expect(existsSync(absent)).toBe(false);
    const empty = temp('restore-empty');
    await expect(restoreSnapshot(repository, snapshot.id, empty)).rejects.toThrow(/is damaged/);
    expect(readdirSync(empty)).toEqual([]);

    await objects.delete(key);
    await expect(restoreSnapshot(repository, snapshot.id, empty)).rejects.toThrow(
      `its chunk ${vocab.chunks[0]} is missing`,
    );
    expect(readdirSync(empty)).toEqual([]);

    // Put back, the same target takes the whole snapshot, past what a killed restore left.
    await objects.put(key, sealed);
    mkdirSync(join(empty, '.restoring-killed', 'llama'), { recursive: true });
    writeFileSync(join(empty, '.restoring-killed', 'empty.txt'), 'partial');
    await restoreSnapshot(repository, snapshot.id, empty);
    expectSameFolder(folder, empty, files);
    expect(readdirSync(empty).sort()).toEqual(['empty.txt', 'llama']);
  });

  it('refuses a target that is a file, or one it cannot create, at once', async () => {
    const folder = modelFolder();
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const { snapshot } = await backupFolder(repository, folder);
    const file = join(temp('restore'), 'a-file');
    writeFileSync(file, 'x');
    await expect(restoreSnapshot(repository, snapshot.id, file)).rejects.toThrow(
      `${file} is a file, not a folder`,
    );
    expect(readFileSync(file, 'utf8')).toBe('x');
    // Node's recursive mkdir never returns under /proc; the restore fails there at once.
    await expect(restoreSnapshot(repository, snapshot.id, '/proc/assistd-restore')).rejects.toThrow(
      RestoreError,
    );
    // An empty folder it cannot write into (root writes into a read-only one: a path with no room
    // left for the staging folder's name fails the same way, ENAMETOOLONG instead of EACCES).
    const parent = temp('restore-long');
    const deep = join(parent, ...Array.from({ length: 30 }, () => 'd'.repeat(200)));
    const unwritable = deep.slice(0, 4085 - 1) + 'x';
    mkdirSync(unwritable, { recursive: true });
    const failure = await restoreSnapshot(repository, snapshot.id, unwritable).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RestoreError);
    expect((failure as RestoreError).damaged).toBe(false);
    expect((failure as Error).message).toMatch(
      `the restore target ${unwritable} cannot be written (ENAMETOOLONG`,
    );
    rmSync(parent, { recursive: true });
  });

  it('backs up a link to a file as that file, and names what it skips', async () => {
    const folder = modelFolder();
    // A Hugging Face snapshot: the model is a link into a blob store beside it.
    const blobs = temp('blobs');
    writeFileSync(join(blobs, 'weights'), randomBytes(4096));
    symlinkSync(join(blobs, 'weights'), join(folder, 'linked.gguf'));
    symlinkSync(blobs, join(folder, 'a-folder-link'));
    symlinkSync(join(folder, 'gone'), join(folder, 'broken'));
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const result = await backupFolder(repository, folder);
    expect(result.files).toBe(4);
    expect(result.skipped).toEqual(['a-folder-link', 'broken']);
    const target = join(temp('restore'), 'models');
    await restoreSnapshot(repository, result.snapshot.id, target);
    expect(lstatSync(join(target, 'linked.gguf')).isFile()).toBe(true);
    expect(sha(join(target, 'linked.gguf'))).toBe(sha(join(blobs, 'weights')));
  });

  it('prunes to the retention policy, keeping every chunk a kept snapshot needs', async () => {
    const folder = modelFolder();
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const day = 86_400_000;
    const base = Date.parse('2026-11-20T03:00:00Z');
    const old = await backupFolder(repository, folder, { now: base });
    writeFileSync(join(folder, 'llama', 'model.gguf'), randomBytes(2 * 1024 * 1024));
    await backupFolder(repository, folder, { now: base + day });
    writeFileSync(join(folder, 'llama', 'model.gguf'), randomBytes(2 * 1024 * 1024));
    const newest = await backupFolder(repository, folder, { now: base + 2 * day });
    const chunksBefore = (await repository.chunkHashes()).size;

    const pruned = await pruneRepository(repository, {
      keepDaily: 1,
      keepWeekly: 0,
      keepMonthly: 0,
    });
    expect(pruned.removedSnapshots).toHaveLength(2);
    expect(pruned.removedSnapshots).toContain(old.snapshot.id);
    expect(pruned.removedChunks).toBeGreaterThan(0);
    expect((await repository.chunkHashes()).size).toBe(chunksBefore - pruned.removedChunks);
    expect(await verifyRepository(repository)).toMatchObject({ snapshots: 1, problems: [] });
    const target = join(temp('restore'), 'kept');
    await restoreSnapshot(repository, newest.snapshot.id, target);
    expectSameFolder(folder, target, files);
  });

  it('prunes each folder alone: a folder backed up before another keeps its snapshot', async () => {
    const { repository } = await repositoryOn(new LocalObjectStore(temp('objects')));
    const [fa, fb] = [modelFolder(), modelFolder()];
    const base = Date.parse('2026-11-20T03:00:00Z');
    const older = await backupFolder(repository, fa, { now: base });
    const other = await backupFolder(repository, fb, { now: base + 3_600_000 });
    const newer = await backupFolder(repository, fa, { now: base + 7_200_000 });
    // The defaults: of one day, each folder keeps its newest snapshot.
    const pruned = await pruneRepository(repository, {
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 6,
    });
    expect(pruned.removedSnapshots).toEqual([older.snapshot.id]);
    expect((await repository.snapshots()).map((snapshot) => snapshot.id)).toEqual([
      other.snapshot.id,
      newer.snapshot.id,
    ]);
  });

  it('refuses a backup while a prune holds the repository', async () => {
    const objects = new LocalObjectStore(temp('objects'));
    const { repository } = await repositoryOn(objects);
    await objects.put(
      'locks/prune-x',
      Buffer.from(JSON.stringify({ kind: 'prune', time: Date.now(), host: 'other' })),
    );
    await expect(backupFolder(repository, modelFolder())).rejects.toBeInstanceOf(
      RepositoryLockedError,
    );
  });

  it('restores from the object store and the master key alone, in a new process', async () => {
    const folder = modelFolder();
    const objects = new LocalObjectStore(temp('objects'));
    const first = await repositoryOn(objects);
    const { snapshot } = await backupFolder(first.repository, folder);
    await first.crypto.close();
    // Nothing else survives: a new crypto over the same objects and key file.
    const second = await repositoryOn(objects, first.dataDir);
    const target = join(temp('restore'), 'fresh');
    await restoreSnapshot(second.repository, snapshot.id, target);
    expectSameFolder(folder, target, files);
    // Without the master key nothing opens: the data keys in the repository are wrapped by it.
    await expect(repositoryOn(objects)).rejects.toThrow(/master\.key does not exist/);
  });
});

describe('model backups in S3 (s3rver on loopback)', () => {
  let server: S3Server;
  beforeAll(async () => {
    server = await S3Server.start();
  }, 20_000);
  afterAll(async () => {
    await server.stop();
  });

  it('round-trip byte for byte', async () => {
    const folder = modelFolder();
    const objects = new S3ObjectStore({
      bucket: server.bucket,
      prefix: 'backups',
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: S3Server.credentials,
    });
    const { repository } = await repositoryOn(objects);
    const { snapshot } = await backupFolder(repository, folder);
    const target = join(temp('restore'), 's3');
    await restoreSnapshot(repository, snapshot.id, target);
    expectSameFolder(folder, target, files);
    expect(await verifyRepository(repository)).toMatchObject({ snapshots: 1, problems: [] });
    objects.close();
  }, 60_000);
});
