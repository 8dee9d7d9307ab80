// The checkpoints' side of `audit verify` (verify.ts): both copies read and compared, each
// checkpoint's signature, signing period and link to the one before.
import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint } from '../../storage/types.js';
import { readCheckpointFile } from './checkpoint-file.js';
import { checkpointSignedBy } from './checkpoint-format.js';
import type { AuditProblem, AuditProblemKind, AuditVerification, VerifyOptions } from './verify.js';

/** When a key signed: from `from` until `until` (undefined: it still does). Epoch ms. */
export interface SigningPeriod {
  from: number;
  until: number | undefined;
}

/** Clocks of replicas and the CLI differ a little: a checkpoint may be this far outside. */
export const clockSkewMs = 5 * 60_000;

/**
 * The checkpoints of the table and of the file, merged by seq. Where a copy is missing or the two
 * differ, that is a problem; the copy whose signature verifies is kept.
 */
export async function loadCheckpoints(
  options: VerifyOptions,
  problems: ProblemList,
): Promise<{ checkpoints: AuditCheckpoint[]; fileState: AuditVerification['checkpointFile'] }> {
  const table = await options.store.checkpoints();
  if (options.checkpointFile === undefined) {
    return { checkpoints: table, fileState: 'not-configured' };
  }
  const file = await readCheckpointFile(options.checkpointFile);
  if (!file) {
    if (table.length > 0 && options.sharedTable !== true) {
      problems.add(
        'checkpoint-copy',
        null,
        `${options.checkpointFile} is missing, but the table holds ${table.length} checkpoints`,
      );
    }
    return { checkpoints: table, fileState: 'absent' };
  }
  for (const line of file.badLines) {
    problems.add('checkpoint-copy', null, `${options.checkpointFile}:${line} is not a checkpoint`);
  }
  const merged = new Map<number, AuditCheckpoint>();
  const fromTable = new Map(table.map((checkpoint) => [checkpoint.seq, checkpoint]));
  const fromFile = new Map<number, AuditCheckpoint>();
  for (const checkpoint of file.checkpoints) {
    const seen = fromFile.get(checkpoint.seq);
    if (seen && !sameCheckpoint(seen, checkpoint)) {
      problems.add(
        'checkpoint-copy',
        checkpoint.seq,
        `${options.checkpointFile} holds two different checkpoints ${checkpoint.seq}`,
      );
    }
    fromFile.set(checkpoint.seq, checkpoint);
  }
  for (const seq of new Set([...fromTable.keys(), ...fromFile.keys()])) {
    const inTable = fromTable.get(seq);
    const inFile = fromFile.get(seq);
    if (inTable && inFile) {
      if (!sameCheckpoint(inTable, inFile)) {
        problems.add(
          'checkpoint-copy',
          seq,
          `checkpoint ${seq} differs between the table and ${options.checkpointFile}`,
        );
      }
      const key = options.keys.get(inFile.kid);
      merged.set(seq, key && checkpointSignedBy(inFile, key) ? inFile : inTable);
    } else if (inTable) {
      if (options.sharedTable !== true) {
        problems.add(
          'checkpoint-copy',
          seq,
          `checkpoint ${seq} is in the table but not in ${options.checkpointFile}`,
        );
      }
      merged.set(seq, inTable);
    } else if (inFile) {
      problems.add(
        'checkpoint-copy',
        seq,
        `checkpoint ${seq} is in ${options.checkpointFile} but was removed from the table`,
      );
      merged.set(seq, inFile);
    }
  }
  const checkpoints = [...merged.values()].sort((a, b) => a.seq - b.seq);
  return { checkpoints, fileState: 'present' };
}

/** Whether `at` falls in `period`, give or take the clocks' skew. */
function signedWithin(at: number, period: SigningPeriod | undefined): boolean {
  if (period === undefined) return false;
  return (
    at >= period.from - clockSkewMs &&
    (period.until === undefined || at <= period.until + clockSkewMs)
  );
}

/** Checks signatures and links; returns the checkpoints whose signature verifies. */
export function checkValidCheckpoints(
  checkpoints: readonly AuditCheckpoint[],
  keys: ReadonlyMap<string, KeyObject>,
  problems: ProblemList,
  periods: ReadonlyMap<string, SigningPeriod> | undefined,
): Set<AuditCheckpoint> {
  const valid = new Set<AuditCheckpoint>();
  let previous: AuditCheckpoint | undefined;
  for (const checkpoint of checkpoints) {
    const key = keys.get(checkpoint.kid);
    const period = periods?.get(checkpoint.kid);
    if (!key) {
      problems.add(
        'checkpoint-signature',
        checkpoint.seq,
        `checkpoint ${checkpoint.seq} is signed by key ${checkpoint.kid}, which is not one of this server's signing keys (not in the keyring, or its private key does not open with the master key)`,
      );
    } else if (!checkpointSignedBy(checkpoint, key)) {
      problems.add(
        'checkpoint-signature',
        checkpoint.seq,
        `checkpoint ${checkpoint.seq} has a signature that does not verify with key ${checkpoint.kid}`,
      );
    } else if (periods !== undefined && !signedWithin(checkpoint.at, period)) {
      problems.add(
        'checkpoint-signature',
        checkpoint.seq,
        `checkpoint ${checkpoint.seq} is dated ${iso(checkpoint.at)}, when key ${checkpoint.kid} ` +
          'did not sign (it was not made yet, or was rotated out or retired): signed later with an old key',
      );
    } else {
      valid.add(checkpoint);
    }
    const links = previous
      ? checkpoint.prevSignature?.equals(previous.signature) === true
      : checkpoint.prevSignature === undefined;
    if (!links) {
      problems.add(
        'checkpoint-chain',
        checkpoint.seq,
        previous
          ? `checkpoint ${checkpoint.seq} does not follow checkpoint ${previous.seq}: a checkpoint between them was removed or replaced`
          : `checkpoint ${checkpoint.seq} is not the first checkpoint: earlier ones were removed`,
      );
    }
    previous = checkpoint;
  }
  return valid;
}

function sameCheckpoint(a: AuditCheckpoint, b: AuditCheckpoint): boolean {
  return (
    a.seq === b.seq &&
    a.at === b.at &&
    a.kid === b.kid &&
    a.headHash.equals(b.headHash) &&
    a.signature.equals(b.signature) &&
    (a.prevSignature === undefined
      ? b.prevSignature === undefined
      : b.prevSignature?.equals(a.prevSignature) === true)
  );
}

export class ProblemList {
  readonly list: AuditProblem[] = [];
  total = 0;

  constructor(private readonly max: number) {}

  add(kind: AuditProblemKind, seq: number | null, message: string): void {
    this.total += 1;
    if (this.list.length < this.max) this.list.push({ kind, seq, message });
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
