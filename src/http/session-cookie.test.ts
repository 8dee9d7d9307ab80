import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clearedSessionCookie,
  csrfMatches,
  csrfTokenFor,
  isCookieSafe,
  maxSessionSeconds,
  needsCsrf,
  sessionCookie,
  sessionMaxAge,
  sessionTokenFrom,
} from './session-cookie.js';

const token = 'asd_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('the session cookie', () => {
  it('is found among other cookies, spaces and quotes, and only under its own name', () => {
    expect(sessionTokenFrom(undefined, false)).toBeUndefined();
    expect(sessionTokenFrom('theme=dark', false)).toBeUndefined();
    expect(sessionTokenFrom(`assistd_session=${token}`, false)).toBe(token);
    expect(sessionTokenFrom(`theme=dark;  assistd_session=${token} ; lang=en`, false)).toBe(token);
    expect(sessionTokenFrom(`assistd_session="${token}"`, false)).toBe(token);
    expect(sessionTokenFrom(`x_assistd_session=${token}`, false)).toBeUndefined();
    expect(sessionTokenFrom(`assistd_session_old=${token}`, false)).toBeUndefined();
    expect(sessionTokenFrom('assistd_session=; other=1', false)).toBeUndefined();
    // The last one is this server's (Path=/, sent last): one another port of this host set with
    // a longer path (sent first) does not take the session over.
    expect(sessionTokenFrom(`assistd_session=a; assistd_session=${token}`, false)).toBe(token);
    expect(sessionTokenFrom('assistd_session', false)).toBeUndefined();
  });

  it('is __Host- prefixed with TLS, and the plain name is not read then', () => {
    // A browser takes a __Host- cookie only from a secure response of this very host, for Path=/
    // and without Domain; a plain-HTTP page of another port, or a sibling subdomain, can set the
    // plain name but not this one.
    expect(sessionTokenFrom(`assistd_session=${token}`, true)).toBeUndefined();
    expect(sessionTokenFrom(`__Host-assistd_session=${token}`, true)).toBe(token);
    expect(sessionTokenFrom(`assistd_session=a; __Host-assistd_session=${token}`, true)).toBe(
      token,
    );
    expect(sessionTokenFrom(`__Host-assistd_session=${token}`, false)).toBeUndefined();
  });

  it('is HttpOnly, SameSite=Strict, for the whole site, Secure when TLS is in front', () => {
    expect(sessionCookie(token, 600, false)).toBe(
      `assistd_session=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600`,
    );
    expect(sessionCookie(token, 600, true)).toBe(
      `__Host-assistd_session=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600; Secure`,
    );
    expect(clearedSessionCookie(true)).toBe(
      '__Host-assistd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure',
    );
  });

  it('lives until the token expires, at most 12 hours, at least a second', () => {
    const now = 1_700_000_000_000;
    expect(sessionMaxAge(undefined, now)).toBe(maxSessionSeconds);
    expect(maxSessionSeconds).toBe(43_200);
    expect(sessionMaxAge(now + 90_500, now)).toBe(90);
    expect(sessionMaxAge(now + 30 * 86_400_000, now)).toBe(43_200);
    expect(sessionMaxAge(now + 10, now)).toBe(1);
  });

  it('holds only tokens a browser keeps as they are', () => {
    expect(isCookieSafe(token)).toBe(true);
    expect(isCookieSafe('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_')).toBe(true);
    for (const bad of ['a b', 'a;b', 'a,b', 'a"b', 'a\\b', 'a\u00e9', 'x'.repeat(3801)]) {
      expect(isCookieSafe(bad), bad).toBe(false);
    }
  });
});

describe('the CSRF token', () => {
  it('is base64url(SHA-256("assistd-csrf-v1:" + token)), the same on every replica', () => {
    const expected = createHash('sha256')
      .update(`assistd-csrf-v1:${token}`)
      .digest()
      .toString('base64url');
    expect(csrfTokenFor(token)).toBe(expected);
    expect(csrfTokenFor(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfTokenFor(`${token}x`)).not.toBe(expected);
  });

  it('matches only its own token, whatever is presented', () => {
    const csrf = csrfTokenFor(token);
    expect(csrfMatches(token, csrf)).toBe(true);
    expect(csrfMatches(token, undefined)).toBe(false);
    expect(csrfMatches(token, '')).toBe(false);
    expect(csrfMatches(token, [csrf, csrf])).toBe(false);
    const flipped = `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;
    expect(csrfMatches(token, flipped)).toBe(false);
    expect(csrfMatches(token, `${csrf}x`)).toBe(false);
    // Same length in characters, longer in bytes: refused, not thrown.
    expect(csrfMatches(token, `${csrf.slice(0, -1)}é`)).toBe(false);
    expect(csrfMatches(token, csrfTokenFor('another'))).toBe(false);
  });

  it('is needed by every method but GET, HEAD and OPTIONS', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].map(needsCsrf)).toEqual([false, false, false]);
    expect(['POST', 'PATCH', 'PUT', 'DELETE'].map(needsCsrf)).toEqual([true, true, true, true]);
  });
});
