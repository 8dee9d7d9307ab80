import type {
  AuditAuthMethod,
  AuditCheckpoint,
  AuditDetailValue,
  AuditEntry,
  AuditRecord,
  AuditSource,
} from './types.js';

/** The audit tables' rows as both backends return them (BLOBs and BYTEA as Buffers). */
export interface AuditRow {
  seq: number;
  at: number;
  source: AuditSource;
  request_id: string | null;
  principal: string | null;
  auth: AuditAuthMethod | null;
  ip: string | null;
  user_agent: string | null;
  method: string | null;
  action: string | null;
  resource: string | null;
  decision: string | null;
  statement: string | null;
  status: number | null;
  error: string | null;
  latency_ms: number | null;
  details: string | null;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface CheckpointRow {
  seq: number;
  head_hash: Buffer;
  at: number;
  prev_signature: Buffer | null;
  kid: string;
  signature: Buffer;
}

export type AuditFilter = 'principal' | 'action' | 'status';
export const auditFilters: readonly AuditFilter[] = ['principal', 'action', 'status'];

/** The values of one record's insert, in the column order of the audit_records table. */
export function auditRowValues(
  seq: number,
  entry: AuditEntry,
  prevHash: Buffer,
  hash: Buffer,
): unknown[] {
  return [
    seq,
    entry.at,
    entry.source,
    entry.requestId,
    entry.principal,
    entry.auth,
    entry.ip,
    entry.userAgent,
    entry.method,
    entry.action,
    entry.resource,
    entry.decision,
    entry.statement,
    entry.status,
    entry.error,
    entry.latencyMs,
    entry.details === null ? null : JSON.stringify(entry.details),
    prevHash,
    hash,
  ];
}

export const auditColumns =
  'seq, at, source, request_id, principal, auth, ip, user_agent, method, action, resource, ' +
  'decision, statement, status, error, latency_ms, details, prev_hash, hash';

export function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    source: row.source,
    requestId: row.request_id,
    principal: row.principal,
    auth: row.auth,
    ip: row.ip,
    userAgent: row.user_agent,
    method: row.method,
    action: row.action,
    resource: row.resource,
    decision: row.decision,
    statement: row.statement,
    status: row.status,
    error: row.error,
    latencyMs: row.latency_ms,
    details: row.details === null ? null : parseDetails(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Details are written by this store as JSON; a value that no longer parses was changed outside
 * it, and is returned in a form that cannot match the record's hash (verification reports it).
 */
function parseDetails(text: string): Readonly<Record<string, AuditDetailValue>> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, AuditDetailValue>;
    }
  } catch {
    // Falls through to the unparsable form.
  }
  return { unparsable: text };
}

export function toCheckpoint(row: CheckpointRow): AuditCheckpoint {
  return {
    seq: row.seq,
    headHash: row.head_hash,
    at: row.at,
    prevSignature: row.prev_signature ?? undefined,
    kid: row.kid,
    signature: row.signature,
  };
}
