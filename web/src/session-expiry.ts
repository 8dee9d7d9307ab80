import type { Session } from './api/types';

/** The sessionStorage key: the session's expiry time, never the token. */
const storageKey = 'assistd.session-expires-at';

/** The session's expiry in ms since the epoch; undefined for a token that never expires. */
export function expiryOf(session: Session): number | undefined {
  if (session.expires_at === null) return undefined;
  const ms =
    typeof session.expires_at === 'number' ? session.expires_at : Date.parse(session.expires_at);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The session's cookie lives exactly as long as its token, so once the token expires the browser
 * drops the cookie and the server only sees "no session". Keeping the expiry time in this tab
 * (sessionStorage: a time, not a secret) lets a reload after it still say the token expired.
 */
export function rememberExpiry(
  session: Session,
  storage: Storage | undefined = tabStorage(),
): void {
  const expiry = expiryOf(session);
  try {
    if (expiry === undefined) storage?.removeItem(storageKey);
    else storage?.setItem(storageKey, String(expiry));
  } catch {
    // Storage refused (private mode, quota): the message after a reload is less precise.
  }
}

export function rememberedExpiry(storage: Storage | undefined = tabStorage()): number | undefined {
  try {
    const value = Number(storage?.getItem(storageKey) ?? NaN);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function forgetExpiry(storage: Storage | undefined = tabStorage()): void {
  try {
    storage?.removeItem(storageKey);
  } catch {
    // Nothing to forget.
  }
}

function tabStorage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}
