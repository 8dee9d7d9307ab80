import type { TurnRecord } from '../storage/types.js';

/** What the conversation log holds: every change to stored conversations, in order. */
export type LogRecord =
  | { type: 'turn'; at: number; turn: TurnRecord }
  | { type: 'rename'; at: number; principal: string; id: string; title: string }
  | { type: 'delete'; at: number; principal: string; id: string };

/** A record as shipped: where it sits, for ordering records from several replicas. */
export interface PlacedRecord {
  record: LogRecord;
  replica: string;
  segment: number;
  index: number;
}

/** Frames: a 4-byte big-endian length, then that many bytes (a sealed record). */
export function frame(body: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/**
 * The complete frames at the start of `data`, and how many bytes they take: a torn tail (a crash
 * in the middle of a write) is left out, so the caller can cut the file there.
 */
export function readFrames(data: Uint8Array): { frames: Buffer[]; length: number } {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const frames: Buffer[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const size = buffer.readUInt32BE(offset);
    if (size === 0 || offset + 4 + size > buffer.length) break;
    frames.push(buffer.subarray(offset + 4, offset + 4 + size));
    offset += 4 + size;
  }
  return { frames, length: offset };
}

export function recordContext(replica: string, segment: number, index: number): string {
  return `conversation-log:${replica}:${segment}:${index}`;
}

/** `conversation-log/<replica>/<segment, 12 digits>-<sha256 of the object>` */
export function segmentKey(replica: string, segment: number, sha256: string): string {
  return `conversation-log/${replica}/${String(segment).padStart(12, '0')}-${sha256}`;
}

export function parseSegmentKey(
  key: string,
): { replica: string; segment: number; sha256: string } | undefined {
  const match = /^conversation-log\/([a-z0-9-]+)\/(\d{12})-([0-9a-f]{64})$/.exec(key);
  return match ? { replica: match[1]!, segment: Number(match[2]), sha256: match[3]! } : undefined;
}
