import type { AuditDetailValue, AuditEntry } from '../../storage/types.js';
import { loneSurrogate } from './canonical-json.js';

const loneSurrogates = new RegExp(loneSurrogate.source, 'gu');

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
 * JSON) become U+FFFD, non-finite numbers and missing strings null. Canonical JSON refuses both, and a record that
 * cannot be hashed fails its whole transaction, every other request's record in it included. The
 * record then says what was recorded, not what was sent: that is the point of the replacement
 * character. An entry that needs nothing is returned as is (no copy).
 */
export function wellFormedEntry(entry: AuditEntry): AuditEntry {
  let copy: AuditEntry | undefined;
  for (const field of stringFields) {
    const value = entry[field];
    const fixed = wellFormed(value);
    if (fixed !== value) (copy ??= { ...entry })[field] = fixed;
  }
  if (!Number.isFinite(entry.at)) (copy ??= { ...entry }).at = 0;
  for (const field of ['status', 'latencyMs'] as const) {
    if (finite(entry[field]) !== entry[field]) (copy ??= { ...entry })[field] = null;
  }
  const details = entry.details && wellFormedDetails(entry.details);
  if (details !== entry.details) (copy ??= { ...entry }).details = details;
  return copy ?? entry;
}

/** The same object when nothing needs replacing. */
function wellFormedDetails(
  details: Readonly<Record<string, AuditDetailValue>>,
): Readonly<Record<string, AuditDetailValue>> {
  const entries = Object.entries(details);
  const fixed = entries.map(([key, value]) => [wellFormed(key), detail(value)] as const);
  return fixed.every(
    ([key, value], index) => key === entries[index]![0] && value === entries[index]![1],
  )
    ? details
    : Object.fromEntries(fixed);
}

/** Also null for undefined: a value a type promised but the runtime did not give (the address of
 * a connection already reset) must not fail the batch either. */
function wellFormed<T extends string | null>(text: T): T {
  if (text === undefined) return null as T;
  return (
    text !== null && loneSurrogate.test(text) ? text.replace(loneSurrogates, '\uFFFD') : text
  ) as T;
}

function finite(value: number | null): number | null {
  return value === null || Number.isFinite(value) ? value : null;
}

/** A detail the chain can hash: the same value when it already is one. */
function detail(value: AuditDetailValue): AuditDetailValue {
  if (typeof value === 'string') return wellFormed(value);
  if (typeof value === 'number') return finite(value);
  if (Array.isArray(value)) {
    const items = value as readonly string[];
    return items.some((item) => loneSurrogate.test(item)) ? items.map(wellFormed) : items;
  }
  return value;
}
