import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditCheckpoint } from '../../storage/types.js';
import { checkpointLine, parseCheckpointLine } from './checkpoint-format.js';

/**
 * `<data_dir>/audit/checkpoints.jsonl`: every checkpoint again, one canonical JSON line each,
 * kept apart from the database so that deleting checkpoint rows (with the records they cover)
 * still shows. Appended with `O_APPEND` in one write per line, so the server and the CLI can
 * both append; each line is fsynced before the append counts as done.
 */
export async function appendCheckpointLine(
  path: string,
  checkpoint: AuditCheckpoint,
): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const line = `${checkpointLine(checkpoint)}\n`;
  const handle = await open(path, 'a', 0o600);
  let created: boolean;
  try {
    await handle.appendFile(line, 'utf8');
    await handle.sync();
    created = (await handle.stat()).size === Buffer.byteLength(line);
  } finally {
    await handle.close();
  }
  // A new file's directory entry is durable only once the directory is fsynced too.
  if (created) {
    const folder = await open(directory, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

/** What checkpoints.jsonl holds; `badLines` are 1-based numbers of lines that do not parse. */
export interface CheckpointFileContents {
  checkpoints: AuditCheckpoint[];
  badLines: number[];
}

/** Reads checkpoints.jsonl; undefined when there is no such file. */
export async function readCheckpointFile(
  path: string,
): Promise<CheckpointFileContents | undefined> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = await new Promise<boolean>((resolve, reject) => {
    stream.once('open', () => resolve(true));
    stream.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
  if (!opened) return undefined;
  const contents: CheckpointFileContents = { checkpoints: [], badLines: [] };
  let number = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    number += 1;
    if (line.trim() === '') continue;
    const checkpoint = parseCheckpointLine(line);
    if (checkpoint) contents.checkpoints.push(checkpoint);
    else contents.badLines.push(number);
  }
  return contents;
}

/** Where a data dir keeps its checkpoint file. */
export function checkpointFileIn(dataDir: string): string {
  return join(dataDir, 'audit', 'checkpoints.jsonl');
}
