/** What the hash-chained audit log (security/audit) stores, and the store that holds it. */

/** Where an audit record comes from. */
export type AuditSource = 'http' | 'cli' | 'server';

/**
 * How the principal was established: a bearer JWT, an opaque token, or `local` for an operator
 * running the CLI on the data dir (file access is the credential).
 */
export type AuditAuthMethod = 'jwt' | 'opaque' | 'local';

/** A value in `AuditEntry.details`: scalars and lists of strings only. */
export type AuditDetailValue = string | number | boolean | null | readonly string[];

/**
 * What one audit record says. Never message content, tokens or keys: only who, what, the
 * decision and the outcome. Absent facts are `null`, never left out, so the canonical form that
 * is hashed always has the same members.
 */
export interface AuditEntry {
  /** When it happened, milliseconds since the epoch. */
  at: number;
  source: AuditSource;
  requestId: string | null;
  /** The caller's subject; for the CLI, the operating-system user. */
  principal: string | null;
  auth: AuditAuthMethod | null;
  ip: string | null;
  userAgent: string | null;
  /** HTTP method (HTTP records only). */
  method: string | null;
  /** `verb:object` (route-actions.ts); null for a path that matches no route. */
  action: string | null;
  resource: string | null;
  /** The policy decision: `allow`, `explicit-deny`, `default-deny`; null when none was made. */
  decision: string | null;
  /** The statement that decided, as `name (source:line)`. */
  statement: string | null;
  /** HTTP status sent; null outside HTTP. */
  status: number | null;
  /** The registered error code (errors.ts) or, outside HTTP, a short failure code. */
  error: string | null;
  /** Milliseconds until the response headers (HTTP) or the operation's end (CLI). */
  latencyMs: number | null;
  /** Extra facts of administrative operations (a token's jti, a key's kid…). */
  details: Readonly<Record<string, AuditDetailValue>> | null;
}

/** A stored record: its place in the chain and its hash (see security/audit/chain.ts). */
export interface AuditRecord extends AuditEntry {
  /** 1, 2, 3… with no gaps, assigned inside the write transaction. */
  seq: number;
  /** The previous record's hash (32 zero bytes for the first). */
  prevHash: Buffer;
  /** SHA-256(prevHash || canonical JSON of the record without its hashes). */
  hash: Buffer;
}

/** Computes a record's hash from the previous record's; called inside the write transaction. */
export type AuditLink = (prevHash: Buffer, seq: number, entry: AuditEntry) => Buffer;

/** A signed statement that the chain had `headHash` at `seq` (see security/audit/checkpoint.ts). */
export interface AuditCheckpoint {
  seq: number;
  headHash: Buffer;
  at: number;
  /** The previous checkpoint's signature; undefined for the first. */
  prevSignature: Buffer | undefined;
  /** The signing key (signing_keys.kid; retired keys still verify old checkpoints). */
  kid: string;
  signature: Buffer;
}

/** Filters of the admin query; records come in `seq` order after `after`. */
export interface AuditQuery {
  after: number;
  /**
   * Only records up to this seq (inclusive). The records have no secondary index (it would cost
   * every request), so a filtered query bounds the range it scans and pages on from there.
   */
  through?: number | undefined;
  limit: number;
  principal?: string | undefined;
  action?: string | undefined;
  status?: number | undefined;
}

/**
 * The append-only, hash-chained audit records and their checkpoints. `append` assigns sequence
 * numbers inside its write transaction (holding the write lock while it reads the head), so
 * several processes (the server and the CLI) writing at once still make one chain.
 */
export interface AuditStore {
  /** Batches appended from a writer thread so far (SQLite under load); absent: no such thread. */
  readonly threadBatches?: number;
  /** Appends `entries` in one transaction, in order; resolves to the seq of the last one. */
  append(entries: readonly AuditEntry[], link: AuditLink): Promise<number>;
  /** The newest record's seq and hash; undefined while the log is empty. */
  head(): Promise<{ seq: number; hash: Buffer } | undefined>;
  query(query: AuditQuery): Promise<AuditRecord[]>;
  /** The newest `count` records, oldest first. */
  latest(count: number): Promise<AuditRecord[]>;
  /** Every checkpoint, oldest first. */
  checkpoints(): Promise<AuditCheckpoint[]>;
  lastCheckpoint(): Promise<AuditCheckpoint | undefined>;
  /**
   * Inserts `checkpoint` when the newest checkpoint is still the one at `previousSeq`
   * (undefined: none); false (nothing written) when another process checkpointed first.
   */
  insertCheckpoint(checkpoint: AuditCheckpoint, previousSeq: number | undefined): Promise<boolean>;
}
