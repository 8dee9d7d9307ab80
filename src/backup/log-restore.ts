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

export interface LogRestoreResult {
  segments: number;
  records: number;
  /** Records after `until`, left out. */
  later: number;
  /** Turns of conversations deleted before them, or records that no longer apply. */
  skipped: number;
}

/**
 * Rebuilds conversations from the shipped log alone: every segment of every replica is fetched,
 * checked against the SHA-256 in its name, decrypted record by record (each bound to its place),
 * and the records are replayed in time order into `store` (which should be empty) up to `until`.
 * A segment that fails its checksum or does not decrypt stops the restore with the reason.
 */
export async function restoreConversations(
  objects: ObjectStore,
  crypto: EnvelopeCrypto,
  store: ConversationStore,
  options: { until?: number | undefined; progress?: (done: number, total: number) => void } = {},
): Promise<LogRestoreResult> {
  const segments: Array<{ key: string; replica: string; segment: number; sha256: string }> = [];
  for await (const info of objects.list('conversation-log/')) {
    const parsed = parseSegmentKey(info.key);
    if (parsed) segments.push({ key: info.key, ...parsed });
  }
  const placed: PlacedRecord[] = [];
  for (const [done, segment] of segments.entries()) {
    const bytes = await objects.get(segment.key);
    if (!bytes) throw new Error(`segment ${segment.key} disappeared while restoring`);
    if (createHash('sha256').update(bytes).digest('hex') !== segment.sha256) {
      throw new Error(`segment ${segment.key} does not match its checksum`);
    }
    const { frames, length } = readFrames(bytes);
    if (length !== bytes.length) throw new Error(`segment ${segment.key} is truncated`);
    for (const [index, body] of frames.entries()) {
      const plaintext = await crypto.decryptAsync(
        body,
        recordContext(segment.replica, segment.segment, index),
      );
      placed.push({
        record: JSON.parse(plaintext.toString('utf8')) as LogRecord,
        replica: segment.replica,
        segment: segment.segment,
        index,
      });
    }
    options.progress?.(done + 1, segments.length);
  }
  placed.sort(
    (a, b) =>
      a.record.at - b.record.at ||
      (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0) ||
      a.segment - b.segment ||
      a.index - b.index,
  );
  const result: LogRestoreResult = { segments: segments.length, records: 0, later: 0, skipped: 0 };
  for (const { record } of placed) {
    if (options.until !== undefined && record.at > options.until) {
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
