import { ApiError } from './api/api-error';

/** "in 12 s", or "shortly" when the server gave no `Retry-After`. */
function retryIn(error: ApiError): string {
  return error.retryAfterSeconds === undefined ? 'shortly' : `in ${error.retryAfterSeconds} s`;
}

/**
 * Friendly text for the codes a chat user meets (src/errors.ts lists them all). Codes without an
 * entry show the server's own message, which is written for the caller.
 */
const friendly: Record<string, (error: ApiError) => string> = {
  network_error: () => 'Cannot reach the server. Check the connection and try again.',
  stream_interrupted: () => 'The connection closed before the answer was finished.',
  rate_limited: (error) => `Too many requests — try again ${retryIn(error)}.`,
  server_busy: (error) => `Too many requests — the model is busy; try again ${retryIn(error)}.`,
  upstream_rate_limited: (error) =>
    `Too many requests — the model endpoint is rate limiting; try again ${retryIn(error)}.`,
  auth_locked_out: (error) =>
    `Too many failed sign-ins from this address — try again ${retryIn(error)}.`,
  permission_denied: () => 'Your policies do not allow this.',
  csrf_failed: () => 'The page’s security check failed. Reload the page and try again.',
  model_loading: (error) => `The model is still loading — try again ${retryIn(error)}.`,
  model_not_found: () => 'That model is no longer offered. Pick another model.',
  model_unavailable: (error) => `The selected model cannot answer right now. ${error.message}`,
  conversation_not_found: () => 'This conversation no longer exists.',
  conversation_busy: () =>
    'This conversation is still finishing its previous answer. Try again in a moment.',
  context_length_exceeded: () => 'This message is too long for the model’s context window.',
  body_too_large: () => 'This message is larger than the server accepts.',
  shutting_down: () => 'The server is restarting. Try again in a moment.',
  upstream_timeout: () => 'The model did not answer in time. Try again.',
  upstream_error: () => 'The model endpoint failed to answer. Try again.',
  store_unavailable: () => 'Conversations cannot be stored right now. Try again shortly.',
  audit_unavailable: () => 'The server cannot record requests right now, so it refused this one.',
  backup_running: () => 'A backup is already running.',
  backup_unavailable: () =>
    'The backup repository cannot be read right now; the server log has the reason.',
};

export function describeError(error: ApiError): string {
  const describe = friendly[error.code];
  return describe === undefined ? error.message : describe(error);
}

/** Why the server refused a token on the sign-in page. */
export function describeSignInFailure(error: ApiError): string {
  switch (error.code) {
    case 'invalid_token':
    case 'missing_token':
      return 'This token is not valid. Check that you pasted all of it.';
    case 'token_expired':
    case 'expired_token':
      return 'This token has expired. Ask an operator for a new one.';
    case 'token_revoked':
      return 'This token was revoked. Ask an operator for a new one.';
    case 'token_not_yet_valid':
      return 'This token is not valid yet. Check the clocks of this computer and the server.';
    default:
      return describeError(error);
  }
}

/** Texts for a session that ended; each says why when the console can tell. */
export const sessionEndTexts = {
  expired: 'Your session has ended: the token expired. Sign in again.',
  revoked: 'Your session has ended: the token was revoked. Sign in with a new token.',
  untrustedKey:
    'Your session has ended: the key that signed the token is no longer trusted. Sign in with a new token.',
  cookieGone:
    'Your session has ended: it was signed out in another tab, or its time ran out. Sign in again.',
} as const;

/**
 * How early before the token's expiry a missing cookie still counts as "expired": the cookie's
 * Max-Age is whole seconds rounded down, and the two clocks may differ a little.
 */
const expirySlackMs = 5000;

/**
 * Why a session ended, for the sign-in page. `onLoad` is the first check when the page opens: a
 * visitor without a session cookie has not been signed out, so only an expired or revoked session
 * is worth a word then. `expiresAtMs` is the session's token expiry, when known: the cookie
 * expires with the token, so the server then sees no cookie at all (`missing_token`), and the
 * expiry is what tells that apart from a sign-out.
 */
export function describeSessionEnd(
  error: ApiError,
  onLoad: boolean,
  expiresAtMs?: number,
  nowMs: number = Date.now(),
): string | undefined {
  switch (error.code) {
    case 'token_expired':
    case 'expired_token':
    case 'session_expired':
      return sessionEndTexts.expired;
    case 'token_revoked':
    case 'session_revoked':
      return sessionEndTexts.revoked;
    case 'unknown_signing_key':
      return sessionEndTexts.untrustedKey;
  }
  if (error.status !== 401) return describeError(error);
  const cookieGone = error.code === 'missing_token' || error.code === 'missing_session';
  if (cookieGone && expiresAtMs !== undefined && nowMs >= expiresAtMs - expirySlackMs) {
    return sessionEndTexts.expired;
  }
  if (onLoad) return undefined;
  return cookieGone
    ? sessionEndTexts.cookieGone
    : `Your session has ended: ${error.message} Sign in again.`;
}

/**
 * "<what went wrong>: <why>", for a request that failed: the friendly text of an API error, or
 * "unknown error" for anything else (a network failure, a bad answer).
 */
export function failureText(what: string, failure: unknown): string {
  return `${what}: ${failure instanceof ApiError ? describeError(failure) : 'unknown error'}`;
}
