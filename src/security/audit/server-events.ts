import type { PolicySetEvent } from '../policy/policy-set.js';
import type { AdminEvent } from './admin-event.js';

// What the server records of the administrative operations it does on its own (no caller): the
// first administrator token, signing-key changes, policy reloads. `serverEntry` stamps them.

export function bootstrapTokenEvent(tokenId: string): AdminEvent {
  return {
    action: 'create:token',
    resource: '/admin/tokens',
    details: { operation: 'bootstrap', token_id: tokenId, subject: 'admin', admin: true },
  };
}

/** A key generated or rotated (`operation`), naming the key that now signs. */
export function signingKeyEvent(operation: string, activeKid: string | null): AdminEvent {
  return {
    action: 'create:key',
    resource: '/admin/keys',
    details: { operation, kid: activeKid },
  };
}

/** A policy file loaded or rejected (the previous policies kept). */
export function policyReloadEvent(
  event: Exclude<PolicySetEvent, { type: 'unchanged' }>,
): AdminEvent {
  return {
    action: 'update:policy',
    resource: '/admin/policies',
    error: event.type === 'rejected' ? 'invalid_policy_file' : null,
    details:
      event.type === 'loaded'
        ? { source: event.source, digest: event.digest, statements: event.statements }
        : { source: event.source, kept_digest: event.keptDigest },
  };
}

/** A scheduled model backup: its snapshot, or the failure's short code. */
export function scheduledBackupEvent(
  snapshot: string | null,
  removed: number,
  error: string | null,
): AdminEvent {
  return {
    action: 'create:backup',
    resource: '/admin/backups',
    error,
    details: { operation: 'scheduled', snapshot, pruned_snapshots: removed },
  };
}
