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

/** Signs checkpoints; throws when no key can sign now. */
export interface CheckpointSigner {
  sign(data: Buffer): Promise<{ kid: string; signature: Buffer }>;
  /** The kid that would sign now, or undefined when none can (no active key). */
  currentKid(): string | undefined;
  /** Makes the first key when there is none (for a log's last checkpoint); absent: none is made. */
  ensureKey?(): Promise<void>;
}

/**
 * Signs with the keyring's active key, in libuv's thread pool (off the event loop). `ensureKey`:
 * makes the first key when there never was one (a key retired or past its period is the
 * server's upkeep's to replace, within the hour checkpoint gaps allow for it).
 */
export function keyringSigner(
  keyring: Keyring,
  options: { ensureKey?: boolean } = {},
): CheckpointSigner {
  return {
    ...(options.ensureKey && {
      async ensureKey() {
        if (!keyring.list().some((key) => key.source === 'generated')) {
          await keyring.ensureCurrent();
        }
      },
    }),
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
