import type { KeyObject } from 'node:crypto';
import { readFile, truncate } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Store } from '../../storage/types.js';
import { appendCheckpointLine, readCheckpointFile } from './checkpoint-file.js';
import { checkpointSignedBy } from './checkpoint-format.js';

/**
 * Repairs what a crash can leave in checkpoints.jsonl: the table row of a checkpoint is written
 * first and its line second, so a process killed in between leaves the newest checkpoints in the
 * table only, and one killed in the middle of a write leaves half a line. At start, a partial last
 * line is cut off, and checkpoints newer than the file's last are copied from the table, each only
 * if its signature verifies and it links to the one before (copying signed statements cannot
 * forge anything). Anything else the file lacks (older checkpoints: deleted lines) is left for
 * `audit verify` to report. Resolves to what was done.
 */
export async function repairCheckpointFile(
  store: Store,
  file: string,
  logger: Logger,
  /** This server's signing keys (`Keyring.provenKeys`). */
  provenKeys: () => Promise<ReadonlyMap<string, KeyObject>>,
  /**
   * The table is shared by replicas (PostgreSQL): its newer checkpoints are mostly other
   * replicas', which this file never holds (verify's `sharedTable`); only a torn line is cut.
   */
  sharedTable = false,
): Promise<{ cutBytes: number; appended: number }> {
  let cutBytes = 0;
  const text = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text && text.length > 0 && text[text.length - 1] !== 0x0a) {
    const keep = text.lastIndexOf(0x0a) + 1;
    cutBytes = text.length - keep;
    await truncate(file, keep);
  }
  const inFile = (await readCheckpointFile(file))?.checkpoints ?? [];
  const lastInFile = inFile.reduce((max, checkpoint) => Math.max(max, checkpoint.seq), 0);
  const table = await store.audit.checkpoints();
  const missing = table.filter((checkpoint) => checkpoint.seq > lastInFile);
  let appended = 0;
  if (missing.length > 0 && !sharedTable) {
    const keys = await provenKeys();
    let previous = table.filter((checkpoint) => checkpoint.seq <= lastInFile).at(-1);
    for (const checkpoint of missing) {
      const key = keys.get(checkpoint.kid);
      const links =
        previous === undefined
          ? checkpoint.prevSignature === undefined
          : checkpoint.prevSignature?.equals(previous.signature) === true;
      if (!key || !checkpointSignedBy(checkpoint, key) || !links) break;
      await appendCheckpointLine(file, checkpoint);
      appended += 1;
      previous = checkpoint;
    }
  }
  if (cutBytes > 0 || appended > 0) {
    logger.warn(
      { file, cut_bytes: cutBytes, appended },
      'audit checkpoint file repaired after a crash: a torn last line cut, newer checkpoints copied from the table',
    );
  }
  return { cutBytes, appended };
}
