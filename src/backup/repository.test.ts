import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryOn, tempDir } from '../../test/support/backup.js';
import { backupFolder, pruneRepository, verifyRepository } from './models.js';
import { LocalObjectStore } from './object-store/local.js';
import type { ObjectInfo, ObjectStore } from './object-store/types.js';

const temp = tempDir;

/** A local store whose listing also shows the empty "folder" objects S3 tools leave. */
class WithFolderMarkers extends LocalObjectStore {
  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    if (prefix === 'snapshots/' || prefix === 'keys/') yield { key: prefix, size: 0 };
    yield* super.list(prefix);
  }
}

describe('BackupRepository', () => {
  it('passes over objects under snapshots/ that are not snapshots', async () => {
    const objects: ObjectStore = new WithFolderMarkers(temp('objects'));
    await objects.put('snapshots/README', Buffer.from('note\n'));
    await objects.put('snapshots/old/20261127T031500Z-1a2b3c4d', Buffer.from('x'));
    const { repository } = await repositoryOn(objects);
    const folder = temp('models');
    writeFileSync(join(folder, 'model.gguf'), 'weights');
    const { snapshot } = await backupFolder(repository, folder);

    expect(await repository.snapshotIds()).toEqual([snapshot.id]);
    expect(await repository.readableSnapshots()).toMatchObject({
      snapshots: [{ id: snapshot.id }],
      unreadable: [],
    });
    expect(await repository.newestSnapshots(10)).toMatchObject({
      snapshots: [{ id: snapshot.id }],
      more: false,
      unreadable: [],
    });
    expect(await verifyRepository(repository)).toMatchObject({ snapshots: 1, problems: [] });
    await backupFolder(repository, folder);
    const pruned = await pruneRepository(repository, {
      keepDaily: 1,
      keepWeekly: 0,
      keepMonthly: 0,
    });
    expect(pruned).toMatchObject({ removedSnapshots: [snapshot.id], keptSnapshots: 1 });
    expect(await objects.get('snapshots/README')).toBeDefined();
  });
});
