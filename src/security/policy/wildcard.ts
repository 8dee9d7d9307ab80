/**
 * Wildcard patterns for policy actions, resources and principals, matched without regular
 * expressions (a glob turned into a RegExp backtracks exponentially: 8.5 s on a 70-character path
 * with 7 stars).
 *
 * - `*` matches any run of characters, including none and including `/`.
 * - `?` matches exactly one Unicode code point (a surrogate pair counts as one character, so
 *   `/v1/?` matches `/v1/😀`). Every other character matches itself; there is no escape syntax.
 *
 * The matcher is the iterative two-pointer algorithm that only ever backtracks to the most recent
 * star: O(pattern × text) steps in the worst case, never exponential, and linear for the patterns
 * policies actually use.
 */

/** Counts the steps of a match, so tests can bound the work without timing it. */
export interface MatchMeter {
  steps: number;
}

const star = 42; // '*'
const question = 63; // '?'

/** True when the pattern contains `*` or `?`. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Code units taken by the code point that starts at `index`: 2 for a surrogate pair, else 1. */
function codePointLength(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * Whether `text` matches `pattern` as a whole. Both are compared as given: callers that want
 * case-insensitive matching lower-case both sides first.
 */
export function matchWildcard(pattern: string, text: string, meter?: MatchMeter): boolean {
  const patternLength = pattern.length;
  const textLength = text.length;
  let p = 0;
  let t = 0;
  // Where the most recent star is in the pattern (-1: none yet), and where in the text the run
  // it currently covers ends; a mismatch lets that star cover one more character and retries.
  let starAt = -1;
  let starEnd = 0;
  let steps = 0;
  while (t < textLength) {
    steps++;
    const unit = p < patternLength ? pattern.charCodeAt(p) : -1;
    if (unit === star) {
      starAt = p;
      starEnd = t;
      p++;
    } else if (unit === question) {
      t += codePointLength(text, t);
      p++;
    } else if (unit !== -1 && unit === text.charCodeAt(t)) {
      p++;
      t++;
    } else if (starAt !== -1) {
      // Stay on code point boundaries, so a later `?` never sees half a surrogate pair.
      starEnd += codePointLength(text, starEnd);
      t = starEnd;
      p = starAt + 1;
    } else {
      if (meter) meter.steps += steps;
      return false;
    }
  }
  while (p < patternLength && pattern.charCodeAt(p) === star) {
    steps++;
    p++;
  }
  if (meter) meter.steps += steps;
  return p === patternLength;
}

/** A pattern prepared once: the common shapes skip the general matcher. */
export type WildcardMatcher = (text: string) => boolean;

/**
 * Compiles a pattern into the cheapest test that gives the same answer as `matchWildcard`:
 * `*` (any text), exact text, `prefix*`, `*suffix`, else the general matcher.
 */
export function compileWildcard(pattern: string): WildcardMatcher {
  if (!hasWildcard(pattern)) return (text) => text === pattern;
  if (/^\*+$/.test(pattern)) return () => true;
  const inner = pattern.slice(0, -1);
  if (pattern.endsWith('*') && !hasWildcard(inner)) return (text) => text.startsWith(inner);
  const tail = pattern.slice(1);
  if (pattern.startsWith('*') && !hasWildcard(tail)) return (text) => text.endsWith(tail);
  return (text) => matchWildcard(pattern, text);
}
