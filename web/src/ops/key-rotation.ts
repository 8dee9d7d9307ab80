import type { SigningKeyView } from '../api/keys';

const dayMs = 24 * 60 * 60 * 1000;

/** A kid short enough for a table cell: its first 12 characters and an ellipsis. */
export function shortKid(kid: string): string {
  return kid.length <= 16 ? kid : `${kid.slice(0, 12)}…`;
}

/**
 * When the active generated key is replaced, from its `signs_until`: "rotates in 12 days",
 * "rotates in 1 day", "rotates within a day", or "overdue" once the time has passed. Undefined for
 * any other key (imported keys are rotated by their operator) or a time that does not parse.
 */
export function rotationText(key: SigningKeyView, nowMs: number): string | undefined {
  if (key.status !== 'active' || key.source !== 'generated' || key.signs_until === null) {
    return undefined;
  }
  const until = Date.parse(key.signs_until);
  if (Number.isNaN(until)) return undefined;
  if (until <= nowMs) return 'overdue';
  const days = Math.floor((until - nowMs) / dayMs);
  if (days === 0) return 'rotates within a day';
  return `rotates in ${days} ${days === 1 ? 'day' : 'days'}`;
}
