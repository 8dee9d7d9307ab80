import type { Session } from './api/types';

/** The part of `window.history` this module uses (the tests pass their own). */
export type HistoryEntry = Pick<History, 'state' | 'replaceState'>;

/** The key in the history entry's state: the session's expiry time, never the token. */
const stateKey = 'assistdSessionExpiresAt';

/** This page's session expiry (ms since the epoch), while signed in: for new history entries. */
let expiresAtMs: number | undefined;
let followingNavigation = false;

/** The session's expiry in ms since the epoch; undefined for a token that never expires. */
export function expiryOf(session: Session): number | undefined {
  if (session.expires_at === null) return undefined;
  const ms =
    typeof session.expires_at === 'number' ? session.expires_at : Date.parse(session.expires_at);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The session's cookie lives exactly as long as its token, so once the token expires the browser
 * drops the cookie and the server only sees "no session". The expiry time is kept in memory and,
 * so that a reload after it can still say the token expired, in the state of this tab's history
 * entry (a time, not a secret; gone with the tab). Nothing goes to sessionStorage or
 * localStorage: the console keeps nothing in browser storage but the theme.
 */
export function rememberExpiry(
  session: Session,
  history: HistoryEntry | undefined = tabHistory(),
): void {
  expiresAtMs = expiryOf(session);
  stamp(history, expiresAtMs);
  if (history !== undefined && history === tabHistory()) followNavigation();
}

/**
 * The expiry the history entry kept: on load, that of the session this tab had before the
 * reload (while signed in, the page reads it off its session instead).
 */
export function rememberedExpiry(
  history: HistoryEntry | undefined = tabHistory(),
): number | undefined {
  const state: unknown = history?.state;
  if (typeof state !== 'object' || state === null) return undefined;
  const value = (state as Record<string, unknown>)[stateKey];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function forgetExpiry(history: HistoryEntry | undefined = tabHistory()): void {
  expiresAtMs = undefined;
  stamp(history, undefined);
}

/** Writes the expiry into the current history entry's state, keeping what else it holds. */
function stamp(history: HistoryEntry | undefined, expiry: number | undefined): void {
  if (history === undefined) return;
  const state: unknown = history.state;
  const others: Record<string, unknown> =
    typeof state === 'object' && state !== null ? { ...(state as Record<string, unknown>) } : {};
  if (expiry === undefined && !(stateKey in others)) return;
  if (expiry === undefined) delete others[stateKey];
  else others[stateKey] = expiry;
  try {
    history.replaceState(Object.keys(others).length === 0 ? null : others, '');
  } catch {
    // Refused (too many calls): the message after a reload is less precise.
  }
}

/** Each page of the console is a new history entry (its hash); each gets the expiry too. */
function followNavigation(): void {
  if (followingNavigation) return;
  followingNavigation = true;
  const restamp = () => {
    if (expiresAtMs !== undefined) stamp(tabHistory(), expiresAtMs);
  };
  window.addEventListener('hashchange', restamp);
  window.addEventListener('popstate', restamp);
}

function tabHistory(): HistoryEntry | undefined {
  return typeof window === 'undefined' ? undefined : window.history;
}
