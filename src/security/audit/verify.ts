import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, AuditRecord, AuditStore } from '../../storage/types.js';
import { chainHash, genesisHash } from './chain.js';
import { GapCheck, gapMessage, type CheckpointGap } from './checkpoint-gap.js';
import {
  checkValidCheckpoints,
  clockSkewMs,
  iso,
  loadCheckpoints,
  ProblemList,
  type SigningPeriod,
} from './verify-checkpoints.js';

export type { SigningPeriod } from './verify-checkpoints.js';

/**
 * - `modified`: a record no longer matches its own hash.
 * - `reordered`: a record matches its hash only at another sequence number (moved or swapped).
 * - `missing`: sequence numbers are skipped (records deleted).
 * - `broken-link`: a record does not chain onto the one before it (that one was replaced with a
 *   rehashed record, or records were inserted or removed and renumbered).
 * - `truncated`: the log ends before the last signed checkpoint.
 * - `checkpoint-mismatch`: a checkpoint's head hash differs from the record at its seq (the chain
 *   up to there was rewritten after it was signed).
 * - `checkpoint-signature`: a checkpoint's signature does not verify, or its key is unknown.
 * - `checkpoint-chain`: a checkpoint does not link to the one before it (one was removed or
 *   replaced).
 * - `checkpoint-copy`: the table and checkpoints.jsonl disagree (a copy was removed or changed).
 * - `checkpoint-gap`: records waited longer for a checkpoint than checkpoints allow (every
 *   checkpoint that covered them was removed, from both copies), and no signed acceptance
 *   covers them (checkpoint-gap.ts).
 */
export type AuditProblemKind =
  | 'modified'
  | 'reordered'
  | 'missing'
  | 'broken-link'
  | 'truncated'
  | 'checkpoint-mismatch'
  | 'checkpoint-signature'
  | 'checkpoint-chain'
  | 'checkpoint-copy'
  | 'checkpoint-gap';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The record (or checkpoint) sequence number where it shows; null for the file as a whole. */
  seq: number | null;
  message: string;
}

export interface AuditVerification {
  /** No problem found (records after the last checkpoint may still be unanchored). */
  intact: boolean;
  /** The first record checked: 1, or the checkpoint given as `fromCheckpoint`. */
  from: number;
  /** Records checked (from `from` on). */
  records: number;
  lastSeq: number;
  checkpoints: number;
  lastCheckpoint: { seq: number; at: number; kid: string } | null;
  /**
   * Records after the last valid checkpoint. Normal for a running server (up to
   * `audit.checkpoint_every_*`), but they are not protected yet: someone without the signing key
   * could have added or changed them. After a clean shutdown there are none.
   */
  unanchored: { from: number; to: number } | null;
  checkpointFile: 'present' | 'absent' | 'not-configured';
  /** Checkpoint gaps no signed acceptance covers (also among `problems`); [] when not checked. */
  gaps: CheckpointGap[];
  problems: AuditProblem[];
  /** Problems past `maxProblems`, counted but not listed. */
  problemsOmitted: number;
}

export interface VerifyOptions {
  store: AuditStore;
  /** Public keys by kid, retired keys included (`provenSigningKeys`, security/keyring.ts). */
  keys: ReadonlyMap<string, KeyObject>;
  /**
   * When each key signed (from its creation until it was rotated out or retired). A checkpoint
   * dated outside its key's period, or before the record it anchors, does not count: a key that
   * leaked after it was retired cannot sign checkpoints of a log rewritten since.
   */
  periods?: ReadonlyMap<string, SigningPeriod>;
  /** checkpoints.jsonl; undefined when the caller has none to compare. */
  checkpointFile: string | undefined;
  /**
   * The table is shared by replicas (PostgreSQL), each with its own checkpoints.jsonl holding the
   * checkpoints it signed: a checkpoint of the table missing from this file is another
   * replica's, not a removed line. What the file holds must still be in the table, unchanged.
   */
  sharedTable?: boolean;
  /**
   * `audit.checkpoint_every_seconds` in ms: records that waited longer than `maxUnanchoredSpanMs`
   * of it for a checkpoint are a `checkpoint-gap`. Undefined: not checked.
   */
  checkpointEveryMs?: number | undefined;
  /** Records read per query (default 1000). */
  pageSize?: number;
  /** Awaited between pages: the server yields to the event loop there. */
  pause?: () => Promise<void>;
  /** Problems listed at most (default 1000). */
  maxProblems?: number;
  /**
   * Checks the records from this checkpoint's record on, not from the first: an incremental
   * check, after an earlier run checked the records before it (pass that run's
   * `lastCheckpoint.seq`). The checkpoint's signature anchors its record, whose hash covers
   * everything before it, so a record changed before it is not seen until a full check.
   * Checkpoints are all checked either way. It must be a checkpoint whose signature verifies
   * (else `VerifyRangeError`).
   */
  fromCheckpoint?: number;
}

/** `fromCheckpoint` names no checkpoint whose signature verifies: a caller's mistake. */
export class VerifyRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyRangeError';
  }
}

/** How far from its place a record is looked for when it does not match its hash. */
const reorderWindow = 16;

/**
 * Checks the whole log: each record against its hash and its predecessor, the sequence for
 * gaps, each checkpoint's signature and link, the records against the checkpoints, and the
 * table's checkpoints against checkpoints.jsonl. Reads the records a page at a time.
 */
export async function verifyAuditLog(options: VerifyOptions): Promise<AuditVerification> {
  const problems = new ProblemList(options.maxProblems ?? 1000);
  const { checkpoints, fileState } = await loadCheckpoints(options, problems);
  const valid = checkValidCheckpoints(checkpoints, options.keys, problems, options.periods);
  const bySeq = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint]));
  // The checkpoints whose signature verifies, in seq order.
  const anchors = checkpoints.filter((checkpoint) => valid.has(checkpoint));
  const from = startOf(options.fromCheckpoint, anchors);

  const pageSize = options.pageSize ?? 1000;
  let expected = from;
  // From a checkpoint, the first record's link to the one before is not read: its own hash,
  // which covers its prevHash, and the checkpoint's head hash anchor it instead.
  let prevHash: Buffer | undefined = from === 1 ? genesisHash : undefined;
  let previousMoved = false;
  let records = 0;
  const gapCheck = new GapCheck(options.checkpointEveryMs, options.keys, options.periods);
  for (;;) {
    const page = await options.store.query({ after: expected - 1, limit: pageSize });
    for (const record of page) {
      records += 1;
      const gap = record.seq > expected;
      if (gap) {
        problems.add(
          'missing',
          expected,
          record.seq - 1 === expected
            ? `record ${expected} is missing`
            : `records ${expected}–${record.seq - 1} are missing`,
        );
      }
      const own = checkOwnHash(record);
      if (own.kind === 'reordered') {
        problems.add(
          'reordered',
          record.seq,
          `record ${record.seq} was written as record ${own.writtenAs}: records were moved or swapped`,
        );
      } else if (own.kind === 'modified') {
        problems.add('modified', record.seq, `record ${record.seq} does not match its hash`);
      } else if (
        !gap &&
        !previousMoved &&
        prevHash !== undefined &&
        !record.prevHash.equals(prevHash)
      ) {
        problems.add(
          'broken-link',
          record.seq,
          `record ${record.seq} does not chain onto record ${record.seq - 1}: record ` +
            `${record.seq - 1} was replaced (rehashed), or records were inserted or removed here`,
        );
      }
      const checkpoint = bySeq.get(record.seq);
      if (checkpoint && valid.has(checkpoint) && !checkpoint.headHash.equals(record.hash)) {
        problems.add(
          'checkpoint-mismatch',
          record.seq,
          `record ${record.seq} differs from the one checkpoint ${record.seq} signed on ` +
            `${iso(checkpoint.at)}: records up to ${record.seq} were rewritten after it`,
        );
      } else if (
        checkpoint &&
        valid.has(checkpoint) &&
        options.periods !== undefined &&
        checkpoint.at < record.at - clockSkewMs
      ) {
        problems.add(
          'checkpoint-mismatch',
          record.seq,
          `checkpoint ${record.seq} is dated ${iso(checkpoint.at)}, before the record it signs ` +
            `(${iso(record.at)}): it was signed with a date that is not its own`,
        );
      }
      gapCheck.add(record, checkpoint !== undefined && valid.has(checkpoint));
      previousMoved = own.kind === 'reordered';
      prevHash = record.hash;
      expected = record.seq + 1;
    }
    if (page.length < pageSize) break;
    await options.pause?.();
  }

  const lastSeq = expected - 1;
  const lastValid = anchors.at(-1);
  if (lastValid && lastSeq < lastValid.seq) {
    problems.add(
      'truncated',
      lastSeq + 1,
      `the log ends at record ${lastSeq}, but checkpoint ${lastValid.seq} (signed ` +
        `${iso(lastValid.at)}) covers records up to ${lastValid.seq}: ` +
        `records ${lastSeq + 1}–${lastValid.seq} were removed`,
    );
  }
  const anchoredTo = lastValid?.seq ?? 0;
  const gaps = gapCheck.gaps(anchoredTo);
  for (const gap of gaps) {
    problems.add('checkpoint-gap', gap.from, gapMessage(gap, options.checkpointEveryMs!));
  }
  const last = checkpoints.at(-1);
  return {
    intact: problems.total === 0,
    from,
    records,
    lastSeq,
    checkpoints: checkpoints.length,
    lastCheckpoint: last ? { seq: last.seq, at: last.at, kid: last.kid } : null,
    unanchored: lastSeq > anchoredTo ? { from: anchoredTo + 1, to: lastSeq } : null,
    checkpointFile: fileState,
    gaps,
    problems: problems.list,
    problemsOmitted: problems.total - problems.list.length,
  };
}

/** The first record to check: 1, or `fromCheckpoint` once it is known to be a valid checkpoint. */
function startOf(fromCheckpoint: number | undefined, anchors: readonly AuditCheckpoint[]): number {
  if (fromCheckpoint === undefined) return 1;
  if (anchors.some((anchor) => anchor.seq === fromCheckpoint)) return fromCheckpoint;
  const latest = anchors.at(-1);
  throw new VerifyRangeError(
    `${fromCheckpoint} is not the record of a checkpoint whose signature verifies` +
      (latest ? ` (the latest is ${latest.seq})` : ' (there is none yet: run a full check)'),
  );
}

type OwnHash = { kind: 'ok' } | { kind: 'modified' } | { kind: 'reordered'; writtenAs: number };

/** Whether a record matches its hash, and if not, whether it would at a nearby seq. */
function checkOwnHash(record: AuditRecord): OwnHash {
  if (chainHash(record.prevHash, record.seq, record).equals(record.hash)) return { kind: 'ok' };
  const from = Math.max(1, record.seq - reorderWindow);
  for (let seq = from; seq <= record.seq + reorderWindow; seq++) {
    if (seq !== record.seq && chainHash(record.prevHash, seq, record).equals(record.hash)) {
      return { kind: 'reordered', writtenAs: seq };
    }
  }
  return { kind: 'modified' };
}
