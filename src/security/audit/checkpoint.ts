import { sign as signCallback } from 'node:crypto';
import { promisify } from 'node:util';
import type { AuditCheckpoint, AuditStore } from '../../storage/types.js';
import type { Clock } from '../../util/ids.js';
import type { Keyring } from '../keyring.js';
import { appendCheckpointLine } from './checkpoint-file.js';
import { signedBytes } from './checkpoint-format.js';

const sign = promisify(signCallback);

/** Writing or fsyncing checkpoints.jsonl failed (`cause` says how); fatal for the audit log. */
export class CheckpointFileError extends Error {
  constructor(file: string, cause: unknown) {
    super(`cannot append to ${file}`, { cause });
    this.name = 'CheckpointFileError';
  }
}

/**
 * A checkpoint would anchor records that went longer without one than checkpoints allow: signed
 * every `audit.checkpoint_every_seconds`, at every start and at shutdown, records never wait
 * that long, so the checkpoints that covered them were removed (and the records perhaps
 * rewritten since). Signing the head now would bless whatever is there.
 */
export class CheckpointGapError extends Error {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly spanMs: number,
  ) {
    super(
      `records ${from}–${to} were written over ${describeSpan(spanMs)} with no checkpoint ` +
        'between them: checkpoints were removed, or none could be signed then ' +
        '(run `assistd audit verify`)',
    );
    this.name = 'CheckpointGapError';
  }
}

/**
 * The longest time records may legitimately wait for a checkpoint: one period, the next tick's
 * delay once more (a busy or paused process), and a minute of slack.
 */
export function maxUnanchoredSpanMs(everyMs: number): number {
  return 2 * everyMs + 60_000;
}

export function describeSpan(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** Signs checkpoints; throws when no key can sign now. */
export interface CheckpointSigner {
  sign(data: Buffer): Promise<{ kid: string; signature: Buffer }>;
  /** The kid that would sign now, or undefined when none can (no active key). */
  currentKid(): string | undefined;
}

/** Signs with the keyring's active key, in libuv's thread pool (off the event loop). */
export function keyringSigner(keyring: Keyring): CheckpointSigner {
  return {
    async sign(data) {
      const { kid, key } = await keyring.signingKey();
      return { kid, signature: await sign('sha256', data, key) };
    },
    currentKid() {
      return keyring.activeKid();
    },
  };
}

export interface WriteCheckpointOptions {
  store: AuditStore;
  signer: CheckpointSigner;
  /** checkpoints.jsonl; undefined writes the table only. */
  file: string | undefined;
  clock: Clock;
  /**
   * Refuse (`CheckpointGapError`) to sign when the records after the last checkpoint span more
   * than this (`maxUnanchoredSpanMs`); undefined signs whatever is there.
   */
  maxSpanMs?: number | undefined;
}

/**
 * Signs the chain's head when records were added since the last checkpoint and stores the
 * checkpoint in the table, then appends it to the file (fsynced). Resolves to the checkpoint, or
 * undefined when there was nothing new. Another process checkpointing at the same moment makes
 * this one sign again over the newer state.
 *
 * A failure to write the file rejects: after a failed fsync the kernel may have dropped the
 * pages, so the caller must not retry as if nothing happened (see AuditLog).
 */
export async function writeCheckpoint(
  options: WriteCheckpointOptions,
): Promise<AuditCheckpoint | undefined> {
  const { store, signer, file, clock } = options;
  for (let attempt = 0; attempt < 5; attempt++) {
    const [head, last] = await Promise.all([store.head(), store.lastCheckpoint()]);
    if (!head || (last && last.seq >= head.seq)) return undefined;
    if (options.maxSpanMs !== undefined) await checkSpan(store, last?.seq ?? 0, options.maxSpanMs);
    const kid = signer.currentKid();
    if (kid === undefined) throw new Error('no signing key is active to sign a checkpoint');
    const unsigned = {
      seq: head.seq,
      headHash: head.hash,
      at: clock(),
      prevSignature: last?.signature,
      kid,
    };
    const signed = await signer.sign(signedBytes(unsigned));
    // The key rotated between the two calls: sign again with the new one.
    if (signed.kid !== kid) continue;
    const checkpoint: AuditCheckpoint = { ...unsigned, signature: signed.signature };
    if (!(await store.insertCheckpoint(checkpoint, last?.seq))) continue;
    if (file !== undefined) {
      try {
        await appendCheckpointLine(file, checkpoint);
      } catch (error) {
        throw new CheckpointFileError(file, error);
      }
    }
    return checkpoint;
  }
  throw new Error('could not write an audit checkpoint: other writers kept checkpointing first');
}

/** Throws `CheckpointGapError` when the records after `anchored` span more than `maxSpanMs`. */
async function checkSpan(store: AuditStore, anchored: number, maxSpanMs: number): Promise<void> {
  const [[first], [newest]] = await Promise.all([
    store.query({ after: anchored, limit: 1 }),
    store.latest(1),
  ]);
  if (first && newest && newest.at - first.at > maxSpanMs) {
    throw new CheckpointGapError(first.seq, newest.seq, newest.at - first.at);
  }
}
