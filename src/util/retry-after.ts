// Retry-After both ways: read from a server that asks for a wait, written for a client asked to wait.

/** Longest Retry-After passed on to a client, seconds (a day): longer ones are clamped to it. */
export const maxRetryAfterSeconds = 86_400;

/** A `retry-after` header in whole seconds, 1 to `maxRetryAfterSeconds` (digits only, as HTTP asks). */
export function retryAfterHeader(ms: number): { 'retry-after': string } {
  const seconds = Math.min(maxRetryAfterSeconds, Math.max(1, Math.ceil(ms / 1000)));
  return { 'retry-after': String(Number.isFinite(seconds) ? seconds : maxRetryAfterSeconds) };
}

/**
 * `Retry-After` (a delay in seconds, or an HTTP date) as milliseconds from `now`; undefined when
 * absent or unreadable. A date in the past gives 0. The first of repeated headers counts.
 */
export function parseRetryAfter(
  header: string | string[] | undefined,
  now: number,
): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Date.parse reads "-5" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
