import { describe, expect, it } from 'vitest';
import { ApiError, errorFromBody, parseRetryAfter } from './api/api-error';
import {
  describeError,
  describeSessionEnd,
  describeSignInFailure,
  sessionEndTexts,
} from './error-text';

function error(code: string, status: number, retryAfterSeconds?: number): ApiError {
  return new ApiError(`server says ${code}`, { status, code, retryAfterSeconds });
}

describe('error text', () => {
  it('says when to retry a rate limit, from Retry-After', () => {
    expect(describeError(error('rate_limited', 429, 12))).toBe(
      'Too many requests — try again in 12 s.',
    );
    expect(describeError(error('server_busy', 429))).toContain('try again shortly');
  });

  it('maps policy refusals and shows unknown codes with their own message', () => {
    expect(describeError(error('permission_denied', 403))).toBe('Your policies do not allow this.');
    expect(describeError(error('something_new', 400))).toBe('server says something_new');
  });

  it('explains why a session ended, and stays quiet for a first visit without a cookie', () => {
    expect(describeSessionEnd(error('expired_token', 401), true)).toBe(
      'Your session has ended: the token expired. Sign in again.',
    );
    expect(describeSessionEnd(error('token_revoked', 401), false)).toBe(
      'Your session has ended: the token was revoked. Sign in with a new token.',
    );
    expect(describeSessionEnd(error('missing_token', 401), true)).toBeUndefined();
    expect(describeSessionEnd(error('missing_token', 401), false)).toBe(sessionEndTexts.cookieGone);
    expect(describeSessionEnd(error('something_else', 401), false)).toBe(
      'Your session has ended: server says something_else Sign in again.',
    );
  });

  it('tells an expired token from a sign-out when the cookie went with it', () => {
    const expiry = Date.parse('2025-03-01T12:00:00Z');
    const missing = error('missing_token', 401);
    // The cookie expires with the token (whole seconds, rounded down): a little early counts.
    expect(describeSessionEnd(missing, false, expiry, expiry + 3000)).toBe(sessionEndTexts.expired);
    expect(describeSessionEnd(missing, false, expiry, expiry - 2000)).toBe(sessionEndTexts.expired);
    // A reload after the expiry says so too; long before it, it was a sign-out.
    expect(describeSessionEnd(missing, true, expiry, expiry + 60_000)).toBe(
      sessionEndTexts.expired,
    );
    expect(describeSessionEnd(missing, false, expiry, expiry - 3_600_000)).toBe(
      sessionEndTexts.cookieGone,
    );
    expect(describeSessionEnd(missing, true, expiry, expiry - 3_600_000)).toBeUndefined();
  });

  it('words sign-in failures about the token', () => {
    expect(describeSignInFailure(error('invalid_token', 401))).toContain('not valid');
    expect(describeSignInFailure(error('auth_locked_out', 429, 60))).toBe(
      'Too many failed sign-ins from this address — try again in 60 s.',
    );
  });
});

describe('api errors', () => {
  it('reads the OpenAI error shape and falls back to the status', () => {
    expect(errorFromBody({ error: { message: 'm', code: 'c' } }, 400)).toMatchObject({
      code: 'c',
      message: 'm',
    });
    expect(errorFromBody('<html>', 502)).toMatchObject({
      code: 'http_502',
      message: 'The server answered HTTP 502.',
    });
  });

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
