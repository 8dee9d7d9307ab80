import { verify, type KeyObject } from 'node:crypto';
import * as z from '../../util/zod.js';
import type { AuditCheckpoint } from '../../storage/types.js';
import { canonicalJson } from './canonical-json.js';

/**
 * A checkpoint says, signed: "the chain's record `seq` had hash `head_hash` at `at`", and links
 * to the previous checkpoint's signature, so checkpoints form their own chain (CloudTrail's
 * signed digest files work the same way). Someone who can write the database but lacks the
 * signing key can rewrite records after the last checkpoint only; everything a checkpoint covers
 * is fixed.
 *
 * The signed bytes are a domain prefix and the canonical JSON (RFC 8785) of the fields; the
 * signature is RS256 (RSASSA-PKCS1-v1_5 with SHA-256) by the keyring's active key.
 */
const domain = 'assistd-audit-checkpoint-v1\n';

/** The JSON form of a checkpoint (one line of checkpoints.jsonl; the admin API). */
export interface CheckpointJson {
  seq: number;
  head_hash: string;
  at: number;
  prev_signature: string | null;
  kid: string;
  signature: string;
}

export function checkpointJson(checkpoint: AuditCheckpoint): CheckpointJson {
  return {
    seq: checkpoint.seq,
    head_hash: checkpoint.headHash.toString('hex'),
    at: checkpoint.at,
    prev_signature: checkpoint.prevSignature?.toString('base64url') ?? null,
    kid: checkpoint.kid,
    signature: checkpoint.signature.toString('base64url'),
  };
}

const lineSchema = z.strictObject({
  seq: z.int().min(1),
  head_hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.int(),
  prev_signature: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .nullable(),
  kid: z.string().min(1).max(128),
  signature: z.string().regex(/^[A-Za-z0-9_-]+$/),
});

/** Parses one line of checkpoints.jsonl; undefined when it is not a checkpoint. */
export function parseCheckpointLine(line: string): AuditCheckpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = lineSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const json = parsed.data;
  return {
    seq: json.seq,
    headHash: Buffer.from(json.head_hash, 'hex'),
    at: json.at,
    prevSignature:
      json.prev_signature === null ? undefined : Buffer.from(json.prev_signature, 'base64url'),
    kid: json.kid,
    signature: Buffer.from(json.signature, 'base64url'),
  };
}

/** The bytes a checkpoint's signature covers. */
export function signedBytes(checkpoint: Omit<AuditCheckpoint, 'signature'>): Buffer {
  const json = checkpointJson({ ...checkpoint, signature: Buffer.alloc(0) });
  const fields = {
    seq: json.seq,
    head_hash: json.head_hash,
    at: json.at,
    prev_signature: json.prev_signature,
    kid: json.kid,
  };
  return Buffer.from(domain + canonicalJson(fields), 'utf8');
}

/** Whether `checkpoint` was signed by `key`. */
export function checkpointSignedBy(checkpoint: AuditCheckpoint, key: KeyObject): boolean {
  try {
    return verify('sha256', signedBytes(checkpoint), key, checkpoint.signature);
  } catch {
    return false;
  }
}

/** The canonical JSON line of a checkpoint, as checkpoints.jsonl holds it. */
export function checkpointLine(checkpoint: AuditCheckpoint): string {
  return canonicalJson({ ...checkpointJson(checkpoint) });
}
