import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { AuditRecord } from '../../storage/types.js';
import { clockSkewMs, type SigningPeriod } from './verify-checkpoints.js';

/**
 * Records that waited longer for a checkpoint than checkpoints allow. The server signs one every
 * `audit.checkpoint_every_seconds`, at start (over what a killed process left) and at shutdown,
 * and the CLI before and after each operation it records; so records wait that long only when
 * the checkpoints that covered them were removed, from both copies (and the records perhaps
 * rewritten since): a removal the checkpoints' own chain cannot show once none is left. A later
 * checkpoint signed over them does not hide it: `audit verify` measures every stretch between
 * checkpoints, anchored or not.
 */

/**
 * How long the keyring may have no key to sign with: the active key is retired by hand (or a
 * rotation failed), and the next upkeep (security/key-upkeep.ts, hourly) makes a new one. (Keys
 * are rotated two hours before their signing period ends, so that alone leaves no hour.)
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

/** The action of the record `audit accept-gaps` writes for each gap it accepts. */
export const acceptGapAction = 'accept:audit-gap';

/**
 * What an acceptance signs: the gap's records by their range and the hash of its last record,
 * which covers every record before it: records rewritten after they were accepted are a gap again.
 */
export function acceptanceBytes(from: number, to: number, lastHash: Buffer): Buffer {
  return Buffer.from(`assistd audit gap accepted: ${from}-${to} ${lastHash.toString('hex')}`);
}

/** A range of records that waited too long for a checkpoint. */
export interface CheckpointGap {
  from: number;
  to: number;
  /** From the first record's time to the last one's, ms. */
  spanMs: number;
}

export function describeSpan(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`;
}

interface Acceptance {
  seq: number;
  at: number;
  from: number;
  to: number;
  kid: string;
  signature: Buffer;
}

/**
 * Follows `audit verify` through the records, stretch by stretch (between two valid checkpoints,
 * before the first, after the last). A stretch whose records' times span more than
 * `maxUnanchoredSpanMs` is a gap, unless an acceptance covers it: an `accept:audit-gap` record
 * whose signature by one of this server's keys verifies, and that a valid checkpoint anchors.
 */
export class GapCheck {
  private readonly maxMs: number | undefined;
  private first: AuditRecord | undefined;
  private last: AuditRecord | undefined;
  private readonly found: Array<CheckpointGap & { lastHash: Buffer }> = [];
  private readonly acceptances: Acceptance[] = [];

  /**
   * `periods`: when each key signed; an acceptance counts only when dated within its key's (a
   * key that leaked after it was retired cannot accept gaps). Undefined: not checked.
   */
  constructor(
    everyMs: number | undefined,
    private readonly keys: ReadonlyMap<string, KeyObject>,
    private readonly periods?: ReadonlyMap<string, SigningPeriod>,
  ) {
    this.maxMs = everyMs === undefined ? undefined : maxUnanchoredSpanMs(everyMs);
  }

  /** The next record; `anchored`: a valid checkpoint signs it (it closes its stretch). */
  add(record: AuditRecord, anchored: boolean): void {
    if (this.maxMs === undefined) return;
    this.first ??= record;
    this.last = record;
    const acceptance = acceptanceIn(record);
    if (acceptance) this.acceptances.push(acceptance);
    if (anchored) this.close();
  }

  /** Closes the stretch so far: at a valid checkpoint, or at the end of the log. */
  close(): void {
    const { first, last } = this;
    if (first && last && last.at - first.at > this.maxMs!) {
      this.found.push({
        from: first.seq,
        to: last.seq,
        spanMs: last.at - first.at,
        lastHash: last.hash,
      });
    }
    this.first = undefined;
    this.last = undefined;
  }

  /** The gaps no anchored acceptance covers; `anchoredTo`: the last valid checkpoint's seq. */
  gaps(anchoredTo: number): CheckpointGap[] {
    this.close();
    const valid = this.acceptances.filter((acceptance) => acceptance.seq <= anchoredTo);
    return this.found
      .filter(
        (gap) =>
          !valid.some(
            (acceptance) =>
              acceptance.from === gap.from &&
              acceptance.to === gap.to &&
              this.verifies(acceptance, gap.lastHash),
          ),
      )
      .map(({ from, to, spanMs }) => ({ from, to, spanMs }));
  }

  /** Signed by one of this server's keys over the gap as it is now. */
  private verifies(acceptance: Acceptance, lastHash: Buffer): boolean {
    const key = this.keys.get(acceptance.kid);
    if (!key) return false;
    if (this.periods) {
      const period = this.periods.get(acceptance.kid);
      if (!period || acceptance.at < period.from - clockSkewMs) return false;
      if (period.until !== undefined && acceptance.at > period.until + clockSkewMs) return false;
    }
    const bytes = acceptanceBytes(acceptance.from, acceptance.to, lastHash);
    try {
      return verifySignature('sha256', bytes, key, acceptance.signature);
    } catch {
      return false;
    }
  }
}

/** The acceptance a record holds, when it is one (by its shape; its signature is checked later). */
function acceptanceIn(record: AuditRecord): Acceptance | undefined {
  if (record.action !== acceptGapAction || record.source !== 'cli') return undefined;
  const details = record.details ?? {};
  const { from, to, kid, signature } = details as Record<string, unknown>;
  if (typeof from !== 'number' || typeof to !== 'number') return undefined;
  if (typeof kid !== 'string' || typeof signature !== 'string') return undefined;
  const bytes = Buffer.from(signature, 'base64');
  return { seq: record.seq, at: record.at, from, to, kid, signature: bytes };
}

/** The problem `audit verify` reports for a gap. */
export function gapMessage(gap: CheckpointGap, everyMs: number): string {
  return (
    `records ${gap.from}–${gap.to} waited ${describeSpan(gap.spanMs)} for a checkpoint, but ` +
    `checkpoints are signed every ${everyMs / 1000} s, at start and at shutdown: the checkpoints ` +
    "that covered them were removed (or none could be signed then: see the server's log); once " +
    'explained, `assistd audit accept-gaps` signs an acceptance of it'
  );
}
