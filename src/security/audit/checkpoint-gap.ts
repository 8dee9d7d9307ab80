import type { AuditRecord } from '../../storage/types.js';
import { clockSkewMs } from './verify-checkpoints.js';

/**
 * Records that waited longer for a checkpoint than checkpoints allow. The server signs one every
 * `audit.checkpoint_every_seconds`, at start (over what a killed process left) and at shutdown,
 * and the CLI before and after each operation it records; so records wait that long only when
 * the checkpoints that covered them were removed, from both copies (and the records perhaps
 * rewritten since): a removal the checkpoints' own chain cannot show once none is left.
 */

/**
 * How long the keyring may have no key to sign with: a key's signing period ends, or the active
 * key is retired by hand, and the next upkeep (security/key-upkeep.ts, hourly) makes a new one.
 */
const keyUpkeepMs = 3_600_000;

/**
 * The longest time records may legitimately wait for a checkpoint: one period and the next
 * tick's delay once more (a busy or paused process), a minute of slack, the clock skew allowed
 * between replicas and the CLI, and an upkeep's wait for a signing key.
 */
export function maxUnanchoredSpanMs(everyMs: number): number {
  return 2 * everyMs + 60_000 + clockSkewMs + keyUpkeepMs;
}

/**
 * How long the records from `first` to `last` (one stretch between checkpoints) waited: from
 * the first, or from when the first signing key was made (before it nothing could sign), to the
 * last.
 */
export function unanchoredSpanMs(
  first: Pick<AuditRecord, 'at'>,
  last: Pick<AuditRecord, 'at'>,
  firstKeyAt: number | undefined,
): number {
  return last.at - Math.max(first.at, firstKeyAt ?? -Infinity);
}

/** The action of the record `audit checkpoint --accept-gap` writes before it signs. */
export const acceptGapAction = 'accept:audit-gap';

export function describeSpan(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`;
}

/** A checkpoint would anchor records that waited too long (`maxUnanchoredSpanMs`). */
export class CheckpointGapError extends Error {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly spanMs: number,
  ) {
    super(
      `records ${from}–${to} waited ${describeSpan(spanMs)} for a checkpoint: checkpoints were ` +
        'removed, or none could be signed then (run `assistd audit verify`)',
    );
    this.name = 'CheckpointGapError';
  }
}

/** Where `GapCheck` reports what it finds. */
export interface GapSink {
  add(kind: 'checkpoint-gap', seq: number, message: string): void;
}

/**
 * Follows `audit verify` through the records: each stretch between two valid checkpoints (or
 * before the first, or after the last) that waited longer than `maxUnanchoredSpanMs` is a
 * `checkpoint-gap`, unless a checkpoint closes it that was signed over it on purpose (an
 * `accept:audit-gap` record among its records).
 */
export class GapCheck {
  private readonly maxMs: number | undefined;
  private first: AuditRecord | undefined;
  private last: AuditRecord | undefined;
  private accepted = false;

  constructor(
    private readonly everyMs: number | undefined,
    private readonly firstKeyAt: number | undefined,
    private readonly sink: GapSink,
  ) {
    this.maxMs = everyMs === undefined ? undefined : maxUnanchoredSpanMs(everyMs);
  }

  /** The next record; `anchored`: a valid checkpoint signs it (it closes its stretch). */
  add(record: AuditRecord, anchored: boolean): void {
    if (this.maxMs === undefined) return;
    this.first ??= record;
    this.last = record;
    if (record.action === acceptGapAction && record.source === 'cli') this.accepted = true;
    if (anchored) this.end(true);
  }

  /** Closes the stretch so far: at a valid checkpoint, or unanchored at the end of the log. */
  end(anchored = false): void {
    const { first, last } = this;
    if (first && last && !(anchored && this.accepted)) {
      const span = unanchoredSpanMs(first, last, this.firstKeyAt);
      if (span > this.maxMs!) {
        this.sink.add(
          'checkpoint-gap',
          first.seq,
          `records ${first.seq}–${last.seq} waited ${describeSpan(span)} with no checkpoint, ` +
            `but checkpoints are signed every ${this.everyMs! / 1000} s, at start and at ` +
            'shutdown: the checkpoints that covered them were removed (or none could be signed ' +
            "then: see the server's log; if audit.checkpoint_every_seconds was larger then, " +
            'verify with it)',
        );
      }
    }
    this.first = undefined;
    this.last = undefined;
    this.accepted = false;
  }
}
