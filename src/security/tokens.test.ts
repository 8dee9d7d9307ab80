import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import { parseDuration } from '../util/duration.js';
import { testSealer } from '../../test/support/sealer.js';
import { configSchema } from '../config/schema.js';
import type { Authenticator } from './authenticator.js';
import { openSecurity } from './index.js';
import { mintToken, withoutTokenSecrets } from './tokens.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('bearer tokens', () => {
  const store = openSqliteStore({ path: ':memory:' });
  let now = 1_000_000;
  let verifier: Authenticator;
  beforeAll(async () => {
    const security = await openSecurity({
      config: configSchema.parse({}),
      store,
      sealer: testSealer(),
      clock: () => now,
    });
    verifier = security.authenticator;
  });

  it('accepts an issued token and names its principal', async () => {
    const issued = mintToken({ principal: 'alice@example.com', ttlMs: 60_000, now });
    await store.tokens.insertToken(issued.record);
    expect(issued.token).toMatch(/^asd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    await expect(verifier.verify(`Bearer ${issued.token}`)).resolves.toEqual({
      name: 'alice@example.com',
      groups: [],
      admin: false,
      tokenId: issued.record.id,
      method: 'opaque',
      expiresAt: now + 60_000,
    });
    await expect(verifier.verify(`bearer  ${issued.token}`)).resolves.toMatchObject({
      name: 'alice@example.com',
    });
  });

  it('stores only a hash of the secret', async () => {
    const issued = mintToken({ principal: 'bob', now });
    await store.tokens.insertToken(issued.record);
    const secret = issued.token.split('_').slice(2).join('_');
    const record = await store.tokens.findToken(issued.record.id);
    expect(record?.secretHash.toString('hex')).not.toContain(Buffer.from(secret).toString('hex'));
    expect(record?.secretHash).toHaveLength(32);
  });

  it('refuses missing, malformed, unknown, altered and expired tokens', async () => {
    const issued = mintToken({ principal: 'carol', ttlMs: 1000, now });
    await store.tokens.insertToken(issued.record);
    const altered = issued.token.slice(0, -1) + (issued.token.endsWith('A') ? 'B' : 'A');
    const unknown = mintToken({ principal: 'carol', now }).token;
    expect(await codeOf(verifier.verify(undefined))).toBe('missing_token');
    expect(await codeOf(verifier.verify(''))).toBe('missing_token');
    expect(await codeOf(verifier.verify(`Basic ${issued.token}`))).toBe('invalid_token');
    expect(await codeOf(verifier.verify('Bearer nonsense'))).toBe('invalid_token');
    expect(await codeOf(verifier.verify(`Bearer ${unknown}`))).toBe('invalid_token');
    expect(await codeOf(verifier.verify(`Bearer ${altered}`))).toBe('invalid_token');
    expect(await codeOf(verifier.verify(`Bearer ${issued.token}`))).toBe('accepted');
    now += 1000;
    expect(await codeOf(verifier.verify(`Bearer ${issued.token}`))).toBe('expired_token');
  });

  it('refuses a revoked opaque token at once, even while its record is cached', async () => {
    const issued = mintToken({ principal: 'dave', admin: true, now });
    await store.tokens.insertToken(issued.record);
    expect(await verifier.verify(`Bearer ${issued.token}`)).toMatchObject({
      admin: true,
      groups: ['admin'],
    });
    await store.tokens.revoke({ id: issued.record.id, revokedAt: now, expiresAt: undefined });
    expect(await codeOf(verifier.verify(`Bearer ${issued.token}`))).toBe('token_revoked');
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 'd', '0d', '-1d', '1.5h', '30 days', '9999999d'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('withoutTokenSecrets', () => {
  const opaque = `asd_0123456789abcdef_${'S'.repeat(43)}`;
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

  it('keeps the id of an opaque token and the header of a JWT, nothing that grants access', () => {
    expect(withoutTokenSecrets(`/admin/tokens/${opaque}`)).toBe(
      '/admin/tokens/asd_0123456789abcdef_…',
    );
    expect(withoutTokenSecrets(`/nope/${jwt}`)).toBe('/nope/eyJhbGciOiJSUzI1NiJ9.…');
    expect(withoutTokenSecrets('/v1/conversations/conv_1')).toBe('/v1/conversations/conv_1');
  });

  it('finds tokens written with %-escapes, and ones cut short', () => {
    const escaped = opaque.replace(/_/g, '%5F').replace(/^a/, '%61');
    expect(withoutTokenSecrets(`/nope/${escaped}`)).toBe('/nope/asd_0123456789abcdef_…');
    expect(withoutTokenSecrets(`/nope/${jwt.replace(/\./g, '%2E')}`)).toBe(
      '/nope/eyJhbGciOiJSUzI1NiJ9.…',
    );
    expect(withoutTokenSecrets(`/x/${opaque.slice(0, 30)}`)).toBe('/x/asd_0123456789abcdef_…');
    // Escapes of anything a token is not made of stay escaped (a NUL in a record fails it).
    expect(withoutTokenSecrets('/v1/conversations/conv_ab%00cd%2F')).toBe(
      '/v1/conversations/conv_ab%00cd%2F',
    );
  });
});
