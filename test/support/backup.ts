import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectDataKeys } from '../../src/backup/object-data-keys.js';
import type { ObjectStore } from '../../src/backup/object-store/types.js';
import { BackupRepository } from '../../src/backup/repository.js';
import { openCrypto } from '../../src/security/crypto/index.js';
import { silentLogger } from './encrypted-store.js';

/** Helpers for the model backup tests. */

/** A new temporary folder named after `label`. */
export const tempDir = (label: string): string => mkdtempSync(join(tmpdir(), `assistd-${label}-`));

/** A repository over `objects`, keys wrapped by a master key in `dataDir` (made on first use). */
export async function repositoryOn(objects: ObjectStore, dataDir = tempDir('backup-keys')) {
  const crypto = await openCrypto({
    dataDir,
    store: new ObjectDataKeys(objects),
    logger: silentLogger,
  });
  return { repository: new BackupRepository(objects, crypto), crypto, dataDir };
}
