import { userInfo } from 'node:os';
import type { AuditDetailValue, AuditEntry } from '../../storage/types.js';

/**
 * An administrative operation outside HTTP: the CLI (`keys`, `tokens`, `crypto`) or the server
 * itself (policy reloads, key rotation, the first administrator token). Never a token or key:
 * record a token's id (jti) and principal, a key's kid.
 */
export interface AdminEvent {
  /** `verb:object`, as the route table names the matching admin route (`create:token`). */
  action: string;
  resource: string;
  /** A short failure code when the operation failed; absent or null when it succeeded. */
  error?: string | null;
  details?: Readonly<Record<string, AuditDetailValue>>;
  latencyMs?: number;
}

/** The record of an operation the server did on its own (no caller). */
export function serverEntry(event: AdminEvent, at: number): AuditEntry {
  return entry(event, at, 'server', null);
}

/** The record of a CLI operation, made by the operating-system user running it. */
export function cliEntry(event: AdminEvent, at: number, operator = operatorName()): AuditEntry {
  return entry(event, at, 'cli', operator);
}

function entry(
  event: AdminEvent,
  at: number,
  source: 'server' | 'cli',
  principal: string | null,
): AuditEntry {
  return {
    at,
    source,
    requestId: null,
    principal,
    auth: source === 'cli' ? 'local' : null,
    ip: null,
    userAgent: null,
    method: null,
    action: event.action,
    resource: event.resource,
    decision: null,
    statement: null,
    status: null,
    error: event.error ?? null,
    latencyMs: event.latencyMs === undefined ? null : Math.round(event.latencyMs * 100) / 100,
    details: event.details ?? null,
  };
}

/** The operating-system user; file access to the data dir is the CLI's credential. */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
