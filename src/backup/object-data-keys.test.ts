import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/backup.js';
import { silentLogger } from '../../test/support/encrypted-store.js';
import { DecryptionError, openCrypto } from '../security/crypto/index.js';
import { backupFolder, verifyRepository } from './models.js';
import { ObjectDataKeys } from './object-data-keys.js';
import { LocalObjectStore } from './object-store/local.js';
import { BackupRepository } from './repository.js';
import { restoreSnapshot } from './restore-models.js';

const temp = tempDir;

describe('ObjectDataKeys', () => {
  it('leaves a damaged key out: verify names it, what other keys encrypted restores', async () => {
    const objects = new LocalObjectStore(temp('objects'));
    const dataDir = temp('backup-keys');
    const open = (readOnly = false) =>
      openCrypto({ dataDir, store: new ObjectDataKeys(objects), logger: silentLogger, readOnly });
    // Two runs, two data keys: each run's snapshot and chunks are under its own.
    const folders = [temp('models'), temp('models')];
    writeFileSync(join(folders[0]!, 'a.gguf'), 'first weights');
    writeFileSync(join(folders[1]!, 'b.gguf'), 'second weights');
    const ids: string[] = [];
    const keys: string[] = [];
    for (const folder of folders) {
      const crypto = await open();
      keys.push(crypto.status().activeDataKey!);
      ids.push((await backupFolder(new BackupRepository(objects, crypto), folder)).snapshot.id);
      await crypto.close();
    }
    const damaged = keys[0]!;
    const sealed = Buffer.from((await objects.get(`keys/${damaged}`))!);
    await objects.put(`keys/${damaged}`, sealed.subarray(0, 40));

    const store = new ObjectDataKeys(objects);
    expect((await store.list()).map((key) => key.id)).toEqual([keys[1]]);
    await expect(store.get(damaged)).rejects.toThrow(DecryptionError);
    await expect(store.get(damaged)).rejects.toThrow(`data key ${damaged} is damaged`);

    const repository = new BackupRepository(objects, await open(true));
    const target = join(temp('restore'), 'models');
    await restoreSnapshot(repository, ids[1]!, target);
    expect(readFileSync(join(target, 'b.gguf'), 'utf8')).toBe('second weights');
    await expect(restoreSnapshot(repository, ids[0]!, temp('restore'))).rejects.toThrow(
      `data key ${damaged} is damaged`,
    );
    const { problems } = await verifyRepository(repository);
    expect(problems[0]).toMatch(`data key ${damaged} (keys/${damaged}) is damaged`);
    expect(problems).toContainEqual(
      expect.stringMatching(`^snapshot ${ids[0]}: data key ${damaged}`),
    );
    expect(problems.some((line) => line.includes(ids[1]!))).toBe(false);
  });

  it('never makes a new master key while damaged keys are stored (all of them here)', async () => {
    const objects = new LocalObjectStore(temp('objects'));
    const dataDir = temp('backup-keys');
    const crypto = await openCrypto({
      dataDir,
      store: new ObjectDataKeys(objects),
      logger: silentLogger,
    });
    const id = crypto.status().activeDataKey!;
    await crypto.close();
    await objects.put(`keys/${id}`, Buffer.from('{"id":'));
    // A machine without the key file, as a restore on a new machine runs.
    const elsewhere = temp('no-key');
    await expect(
      openCrypto({
        dataDir: elsewhere,
        store: new ObjectDataKeys(objects),
        logger: silentLogger,
        readOnly: true,
      }),
    ).rejects.toThrow('the store holds 1 data keys but');
    expect(existsSync(join(elsewhere, 'master.key'))).toBe(false);
  });
});
