import { createHash } from 'node:crypto';
import type { EnvelopeCrypto } from '../security/crypto/index.js';
import type { ConversationStore } from '../storage/types.js';
import {
  parseSegmentKey,
  readFrames,
  recordContext,
  type LogRecord,
  type PlacedRecord,
} from './log-records.js';
import type { ObjectStore } from './object-store/types.js';
import { RestoreError } from './restore-models.js';

export interface LogRestoreResult {
  segments: number;
  records: number;
  /** Records after `until`, left out. */
  later: number;
  /** Turns of conversations deleted before them, or records that no longer apply. */
  skipped: number;
}

/** The shipped log read back whole: every record in replay order, and the segments holding them. */
export interface ShippedLog {
  segments: number;
  records: PlacedRecord[];
}

interface SegmentObject {
  key: string;
  replica: string;
  segment: number;
  sha256: string;
}

/**
 * Reads every segment of every replica, checks it against the SHA-256 in its name and decrypts it
 * record by record (each bound to its place), before anything is written anywhere: a log that
 * cannot be restored whole fails with `RestoreError` (damaged) naming the segment, so the caller
 * can leave its target untouched. That covers no segment at all, a replica whose numbers (0, 1,
 * 2, … in the order sealed) have a gap, and a segment that is damaged, altered or gone. A missing
 * newest segment of a replica leaves no trace in the log and cannot be found this way.
 */
export async function readShippedLog(
  objects: ObjectStore,
  crypto: EnvelopeCrypto,
  progress?: (done: number, total: number) => void,
): Promise<ShippedLog> {
  const segments: SegmentObject[] = [];
  for await (const info of objects.list('conversation-log/')) {
    const parsed = parseSegmentKey(info.key);
    if (parsed) segments.push({ key: info.key, ...parsed });
  }
  if (segments.length === 0) {
    throw new RestoreError(
      `no conversation-log segments in ${objects.location} (under conversation-log/): check ` +
        'object_store (bucket and prefix) and that log_shipping.enabled was on',
      true,
    );
  }
  const gaps = missingSegments(segments);
  if (gaps.length > 0) {
    throw new RestoreError(
      `the conversation log in ${objects.location} has gaps (changes lost): ${gaps.join('; ')}`,
      true,
    );
  }
  const records: PlacedRecord[] = [];
  for (const [done, segment] of segments.entries()) {
    records.push(...(await readSegment(objects, crypto, segment)));
    progress?.(done + 1, segments.length);
  }
  records.sort(
    (a, b) =>
      a.record.at - b.record.at ||
      (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0) ||
      a.segment - b.segment ||
      a.index - b.index,
  );
  return { segments: segments.length, records };
}

/** Replays a read log into `store` (which should be empty) up to `until` (ms since the epoch). */
export async function replayLog(
  log: ShippedLog,
  store: ConversationStore,
  until?: number,
): Promise<LogRestoreResult> {
  const result: LogRestoreResult = { segments: log.segments, records: 0, later: 0, skipped: 0 };
  for (const { record } of log.records) {
    if (until !== undefined && record.at > until) {
      result.later += 1;
      continue;
    }
    result.records += 1;
    let applied: boolean;
    if (record.type === 'turn') applied = await store.appendTurn(record.turn);
    else if (record.type === 'rename') {
      applied =
        (await store.renameConversation(record.principal, record.id, record.title, record.at)) !==
        undefined;
    } else applied = await store.deleteConversation(record.principal, record.id);
    if (!applied) result.skipped += 1;
  }
  return result;
}

async function readSegment(
  objects: ObjectStore,
  crypto: EnvelopeCrypto,
  segment: SegmentObject,
): Promise<PlacedRecord[]> {
  const bytes = await objects.get(segment.key);
  if (!bytes) throw new RestoreError(`segment ${segment.key} disappeared while restoring`, true);
  if (createHash('sha256').update(bytes).digest('hex') !== segment.sha256) {
    throw new RestoreError(
      `segment ${segment.key} does not match its checksum (damaged or altered)`,
      true,
    );
  }
  const { frames, length } = readFrames(bytes);
  if (length !== bytes.length) throw new RestoreError(`segment ${segment.key} is truncated`, true);
  const records: PlacedRecord[] = [];
  for (const [index, body] of frames.entries()) {
    let plaintext: Buffer;
    try {
      plaintext = await crypto.decryptAsync(
        body,
        recordContext(segment.replica, segment.segment, index),
      );
    } catch (error) {
      // The checksum matched, so the object was written this way: altered with its name, or
      // sealed under another replica's or place's key context.
      throw new RestoreError(
        `segment ${segment.key}, record ${index}, does not decrypt (${(error as Error).message})`,
        true,
      );
    }
    records.push({
      record: JSON.parse(plaintext.toString('utf8')) as LogRecord,
      replica: segment.replica,
      segment: segment.segment,
      index,
    });
  }
  return records;
}

/**
 * The segments missing between 0 and each replica's newest, as `replica <id>: segment
 * <number>[ to <number>]` with the numbers as the keys spell them. A replica numbers its segments
 * from 0 without skipping (and nothing deletes them), so any hole is a lost object.
 */
function missingSegments(segments: readonly SegmentObject[]): string[] {
  const byReplica = new Map<string, Set<number>>();
  for (const { replica, segment } of segments) {
    const numbers = byReplica.get(replica) ?? new Set<number>();
    numbers.add(segment);
    byReplica.set(replica, numbers);
  }
  const spell = (segment: number) => String(segment).padStart(12, '0');
  const gaps: string[] = [];
  for (const [replica, numbers] of [...byReplica].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const newest = Math.max(...numbers);
    const ranges: string[] = [];
    for (let segment = 0; segment < newest; segment++) {
      if (numbers.has(segment)) continue;
      const first = segment;
      while (segment + 1 < newest && !numbers.has(segment + 1)) segment++;
      ranges.push(first === segment ? spell(first) : `${spell(first)} to ${spell(segment)}`);
    }
    if (ranges.length > 0) {
      const noun = ranges.length === 1 && !ranges[0]!.includes(' ') ? 'segment' : 'segments';
      gaps.push(
        `replica ${replica} lacks ${noun} ${ranges.join(', ')} (conversation-log/${replica}/)`,
      );
    }
  }
  return gaps;
}
