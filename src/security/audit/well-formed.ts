import type { AuditDetailValue, AuditEntry } from '../../storage/types.js';

const loneSurrogate = /\p{Surrogate}/u;
const loneSurrogates = /\p{Surrogate}/gu;

/** The string fields of an entry, all of which may carry what a client sent. */
const stringFields = [
  'requestId',
  'principal',
  'ip',
  'userAgent',
  'method',
  'action',
  'resource',
  'decision',
  'statement',
  'error',
] as const;

/**
 * An entry the chain can always hash: lone surrogates (a JWT's `sub` may hold one, escaped in its
 * JSON) become U+FFFD and non-finite numbers null. Canonical JSON refuses both, and a record that
 * cannot be hashed fails its whole transaction, every other request's record in it included. The
 * record then says what was recorded, not what was sent: that is the point of the replacement
 * character. An entry that needs nothing is returned as is (the common case costs a few tests).
 */
export function wellFormedEntry(entry: AuditEntry): AuditEntry {
  if (isWellFormed(entry)) return entry;
  const copy: AuditEntry = { ...entry };
  for (const field of stringFields) copy[field] = wellFormed(entry[field]);
  if (entry.details) {
    copy.details = Object.fromEntries(
      Object.entries(entry.details).map(([key, value]) => [wellFormed(key), detail(value)]),
    );
  }
  if (!Number.isFinite(entry.at)) copy.at = 0;
  for (const field of ['status', 'latencyMs'] as const) {
    const value = entry[field];
    if (value !== null && !Number.isFinite(value)) copy[field] = null;
  }
  return copy;
}

function isWellFormed(entry: AuditEntry): boolean {
  for (const field of stringFields) {
    const value = entry[field];
    if (value !== null && loneSurrogate.test(value)) return false;
  }
  if (!Number.isFinite(entry.at)) return false;
  if (entry.status !== null && !Number.isFinite(entry.status)) return false;
  if (entry.latencyMs !== null && !Number.isFinite(entry.latencyMs)) return false;
  if (entry.details) {
    for (const [key, value] of Object.entries(entry.details)) {
      if (loneSurrogate.test(key) || detail(value) !== value) return false;
    }
  }
  return true;
}

function wellFormed<T extends string | null>(text: T): T {
  return (
    text !== null && loneSurrogate.test(text) ? text.replace(loneSurrogates, '\uFFFD') : text
  ) as T;
}

/** A detail the chain can hash: the same value when it already is one (so `!==` tells). */
function detail(value: AuditDetailValue): AuditDetailValue {
  if (typeof value === 'string') return wellFormed(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) {
    const items = value as readonly string[];
    return items.some((item) => loneSurrogate.test(item)) ? items.map(wellFormed) : items;
  }
  return value;
}
