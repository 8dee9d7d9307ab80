import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Authenticator } from '../security/authenticator.js';
import type { Principal } from '../security/tokens.js';

/**
 * The web console's session: the user pastes a bearer token once, and the server keeps it in an
 * HttpOnly cookie whose value is the token itself. Expiry and revocation therefore apply to every
 * cookie request exactly as to bearer requests, and no session store is needed across replicas.
 *
 * Writes made with the cookie need a CSRF token derived from it (`csrfTokenFor`): stateless, the
 * same on every replica, and out of an attacker site's reach, since the cookie is HttpOnly and
 * SameSite=Strict and the derivation is one-way.
 */

/** The cookie's name without TLS (the browser tests rely on it). */
export const sessionCookieName = 'assistd_session';

/**
 * The cookie's name: with TLS, `__Host-` makes browsers refuse it from anything but a secure
 * response of this host for `Path=/` without `Domain`, so a sibling subdomain or a plain-HTTP
 * page (of another port: cookies ignore ports) cannot plant a session of its own choosing.
 */
export function cookieName(secure: boolean): string {
  return secure ? `__Host-${sessionCookieName}` : sessionCookieName;
}

/** The header a cookie-authenticated write carries its CSRF token in. */
export const csrfHeaderName = 'x-csrf-token';

/** Longest cookie lifetime, seconds: a shared browser forgets the token within a working day. */
export const maxSessionSeconds = 12 * 3600;

/**
 * Longest token a cookie may hold: browsers drop a cookie line over 4096 bytes silently, which
 * would look to the user like a sign-in that did not stick.
 */
export const maxCookieTokenLength = 3800;

/** Characters of the tokens assistd accepts (opaque `asd_…` and compact JWTs): cookie-safe. */
const cookieSafeToken = /^[A-Za-z0-9._-]+$/;

/** Methods that never change anything, so need no CSRF token. */
const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a token can be kept in the cookie as it is (no quoting, within browser limits). */
export function isCookieSafe(token: string): boolean {
  return token.length <= maxCookieTokenLength && cookieSafeToken.test(token);
}

/**
 * The session token in a `Cookie` header, or undefined. Tolerates other cookies, spaces and a
 * quoted value; the last one of the name (`cookieName(secure)`) wins (below).
 */
export function sessionTokenFrom(
  cookieHeader: string | undefined,
  secure: boolean,
): string | undefined {
  const name = cookieName(secure);
  if (cookieHeader === undefined || !cookieHeader.includes(name)) return undefined;
  // The last one: browsers send cookies of longer paths first, and this server sets `Path=/`.
  // A page of another port of this host (cookies ignore ports) that sets one with a longer path,
  // `/console` say, comes first and is passed over; it cannot take the session over that way.
  let found: string | undefined;
  for (const pair of cookieHeader.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    found = value === '' ? undefined : value;
  }
  return found;
}

/** base64url(SHA-256("assistd-csrf-v1:" + token)): what a cookie-authenticated write must send. */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`assistd-csrf-v1:${token}`).digest('base64url');
}

/** Whether `presented` is the CSRF token of `token`, compared in constant time. */
export function csrfMatches(token: string, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(token));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether a request with this method must carry the CSRF token when the cookie authenticates it. */
export function needsCsrf(method: string): boolean {
  return !safeMethods.has(method);
}

/**
 * Seconds the cookie may live: until the token expires, at most `maxSessionSeconds` (also for
 * tokens that never expire), at least 1.
 */
export function sessionMaxAge(expiresAt: number | undefined, now: number): number {
  if (expiresAt === undefined) return maxSessionSeconds;
  return Math.max(1, Math.min(maxSessionSeconds, Math.floor((expiresAt - now) / 1000)));
}

/** The `Set-Cookie` value that stores `token` for `maxAge` seconds. */
export function sessionCookie(token: string, maxAge: number, secure: boolean): string {
  return `${cookieName(secure)}=${token}; ${attributes(maxAge, secure)}`;
}

/** The `Set-Cookie` value that makes the browser forget the session. */
export function clearedSessionCookie(secure: boolean): string {
  return `${cookieName(secure)}=; ${attributes(0, secure)}`;
}

/**
 * `Secure` when this server terminates TLS or a proxy does for it; without TLS (loopback only, see
 * security/listen-check.ts) a Secure cookie would never be sent back.
 */
function attributes(maxAge: number, secure: boolean): string {
  return `HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/**
 * The session cookie's token and whose it is, or 401. A token that fails verification clears the
 * cookie, so a browser stops sending an expired or revoked token. Without a cookie: 401
 * `missing_token`, with `missing.message` when given, and the cookie cleared too when
 * `missing.clear` (the session routes, which always answer a browser).
 */
export async function fromCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  authenticator: Authenticator,
  secure: boolean,
  missing: { message?: string; clear?: boolean } = {},
): Promise<{ principal: Principal; token: string }> {
  const token = sessionTokenFrom(request.headers.cookie, secure);
  if (token === undefined) {
    if (missing.clear === true) reply.header('set-cookie', clearedSessionCookie(secure));
    throw new AppError('missing_token', missing.message);
  }
  try {
    return { principal: await authenticator.verifyToken(token), token };
  } catch (error) {
    reply.header('set-cookie', clearedSessionCookie(secure));
    throw error;
  }
}
