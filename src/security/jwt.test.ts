import { generateKeyPairSync, sign } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../storage/sqlite/store.js';
import type { Store } from '../storage/types.js';
import { openSecurity, type SecurityContext } from './index.js';
import { bearerToken } from './authenticator.js';
import { issueJwt } from './jwt.js';
import { testSealer } from '../../test/support/sealer.js';
import { configSchema } from '../config/schema.js';

const day = 86_400_000;

let now = Date.UTC(2026, 0, 1);
const clock = () => now;
let store: Store;
let security: SecurityContext;
let sealer = testSealer();

async function open(config: Record<string, unknown> = {}) {
  security = await openSecurity({
    config: configSchema.parse(config),
    store,
    sealer,
    clock,
  });
  return security;
}

const bearer = (token: string) => `Bearer ${token}`;
const verify = (token: string) => security.authenticator.verify(bearer(token));
const issue = (ttlMs = day, groups: string[] = []) =>
  issueJwt(security.keyring, security.jwt, { principal: 'alice@example.com', groups, ttlMs, now });

/** A token the attacker signs with a key of their own, claiming whatever they like. */
async function forged(options: {
  kid?: string;
  alg?: string;
  key?: Parameters<SignJWT['sign']>[0];
  claims?: Record<string, unknown>;
}) {
  const key = options.key ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const seconds = Math.floor(now / 1000);
  return new SignJWT({ groups: ['admin'], ...options.claims })
    .setProtectedHeader({
      alg: options.alg ?? 'RS256',
      ...(options.kid === undefined ? {} : { kid: options.kid }),
    })
    .setIssuer('assistd')
    .setAudience('assistd')
    .setSubject('mallory')
    .setJti('forged')
    .setIssuedAt(seconds)
    .setExpirationTime(seconds + 3600)
    .sign(key);
}

beforeEach(async () => {
  now = Date.UTC(2026, 0, 1);
  sealer = testSealer();
  store = openSqliteStore({ path: ':memory:' });
  await open();
  expect(await security.keyring.ensureCurrent()).toBe('generated');
});
afterEach(async () => {
  await store.close();
});

describe('JWT bearer tokens', () => {
  it('verifies a token it issued: RS256 with kid, iss, aud, sub, groups, exp, jti', async () => {
    const issued = await issue(day, ['admin', 'dev']);
    const [header, payload] = issued.token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as object);
    expect(header).toEqual({ alg: 'RS256', kid: issued.kid, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: 'assistd',
      aud: 'assistd',
      sub: 'alice@example.com',
      groups: ['admin', 'dev'],
      jti: issued.jti,
      exp: Math.floor(now / 1000) + 86_400,
    });
    expect(await verify(issued.token)).toEqual({
      name: 'alice@example.com',
      groups: ['admin', 'dev'],
      admin: true,
      tokenId: issued.jti,
      method: 'jwt',
      expiresAt: issued.expiresAt,
    });
  });

  const attacks: Array<[string, () => Promise<string>, string]> = [
    ['garbage', async () => 'not-a-token', 'invalid_token'],
    ['two segments', async () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0', 'invalid_token'],
    [
      'alg none',
      async () =>
        new UnsecuredJWT({ sub: 'mallory', jti: 'x', groups: ['admin'] })
          .setIssuer('assistd')
          .setAudience('assistd')
          .setExpirationTime('1h')
          .encode(),
      'invalid_token',
    ],
    [
      'HS256 keyed with the public key',
      async () => {
        const pem = (await store.signingKeys.list())[0]!.publicKeyPem;
        return forged({
          alg: 'HS256',
          kid: security.keyring.list()[0]!.kid,
          key: new TextEncoder().encode(pem),
        });
      },
      'invalid_token',
    ],
    [
      'ES256',
      async () =>
        forged({
          alg: 'ES256',
          kid: security.keyring.list()[0]!.kid,
          key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
        }),
      'invalid_token',
    ],
    ['no kid', async () => forged({}), 'invalid_token'],
    ['unknown kid', async () => forged({ kid: 'someone-elses-key' }), 'unknown_signing_key'],
    [
      "our kid, the attacker's key",
      async () => forged({ kid: security.keyring.list()[0]!.kid }),
      'invalid_token',
    ],
    [
      'payload tampered after signing',
      async () => {
        const [header, , signature] = (await issue()).token.split('.');
        const payload = Buffer.from(
          JSON.stringify({ sub: 'alice@example.com', groups: ['admin'], jti: 'j', exp: 9e9 }),
        ).toString('base64url');
        return `${header}.${payload}.${signature}`;
      },
      'invalid_token',
    ],
    [
      'expired',
      async () => {
        const token = (await issue(60_000)).token;
        now += 60_000 + 31_000;
        return token;
      },
      'expired_token',
    ],
    [
      'not yet valid',
      async () => {
        const token = (await issue()).token;
        now -= 120_000;
        return token;
      },
      'token_not_yet_valid',
    ],
    [
      'wrong issuer',
      async () => {
        const token = (await issue()).token;
        await open({ security: { jwt: { issuer: 'other' } } });
        return token;
      },
      'wrong_token_issuer',
    ],
    [
      'wrong audience',
      async () => {
        const token = (await issue()).token;
        await open({ security: { jwt: { audience: 'other' } } });
        return token;
      },
      'wrong_token_audience',
    ],
    [
      'revoked',
      async () => {
        const issued = await issue();
        await store.tokens.revoke({ id: issued.jti, revokedAt: now, expiresAt: issued.expiresAt });
        return issued.token;
      },
      'token_revoked',
    ],
  ];
  it.each(attacks)('refuses %s with 401 %s', async (_name, make, code) => {
    const token = await make();
    await expect(verify(token)).rejects.toMatchObject({ status: 401, code });
    expect(security.authenticator.verifiedNow(bearer(token))).toBeUndefined();
  });

  it('answers at once only for a token that verified, never for what verify refuses', async () => {
    const issued = await issue(60_000);
    const now0 = now;
    const fast = (token: string) => security.authenticator.verifiedNow(bearer(token));
    expect(fast(issued.token)).toBeUndefined(); // not verified yet
    const principal = await verify(issued.token);
    expect(fast(issued.token)).toEqual(principal);
    expect(security.authenticator.verifiedNow(`bearer   ${issued.token}  `)).toEqual(principal);
    // Same signature, so the same cache slot: another payload is not taken from it.
    const [header, , signature] = issued.token.split('.');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'mallory', groups: ['admin'], jti: issued.jti, exp: 9e9 }),
    ).toString('base64url');
    const tampered = `${header}.${payload}.${signature}`;
    expect(tampered.slice(-43)).toBe(issued.token.slice(-43));
    expect(fast(tampered)).toBeUndefined();
    await expect(verify(tampered)).rejects.toMatchObject({ code: 'invalid_token' });
    expect(fast(issued.token)).toEqual(principal);
    // Expired: no longer answered, and verify says why.
    now = now0 + 61_000;
    expect(fast(issued.token)).toBeUndefined();
    now = now0;
    await store.tokens.revoke({ id: issued.jti, revokedAt: now, expiresAt: issued.expiresAt });
    expect(fast(issued.token)).toBeUndefined();
    await expect(verify(issued.token)).rejects.toMatchObject({ code: 'token_revoked' });
  });

  it('reads the Authorization header exactly as /^Bearer +(\\S+) *$/i did', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln';
    const headers = [
      `Bearer ${token}`,
      `bearer ${token}`,
      `BEARER    ${token}   `,
      `Bearer\t${token}`,
      `Bearer ${token} x`,
      `Bearer ${token}\u00a0`,
      `Bearer  `,
      'Bearer',
      `Basic ${token}`,
      `Bearer${token}`,
      ` Bearer ${token}`,
      `Bearer ${token.slice(0, 5)}\u2028${token.slice(5)}`,
      'Bearer x',
      `Bearerr ${token}`,
    ];
    for (const header of headers) {
      const expected = /^Bearer +(\S+) *$/i.exec(header)?.[1];
      expect(bearerToken(header), JSON.stringify(header)).toBe(expected);
    }
  });

  it('refuses a revoked token even after it verified once (the cache does not hide it)', async () => {
    const issued = await issue();
    await verify(issued.token);
    await store.tokens.revoke({ id: issued.jti, revokedAt: now, expiresAt: issued.expiresAt });
    await expect(verify(issued.token)).rejects.toMatchObject({ code: 'token_revoked' });
  });

  it('keeps an old-key token valid after rotation until the key retires, then refuses it', async () => {
    await open({ security: { key_rotation_days: 90, max_token_ttl_days: 30 } });
    const old = await issue(30 * day);
    now += 1000;
    const rotated = await security.keyring.rotate();
    expect(rotated.kid).not.toBe(old.kid);
    expect(security.keyring.list().map((key) => [key.kid, key.status])).toEqual([
      [old.kid, 'verifying-only'],
      [rotated.kid, 'active'],
    ]);
    expect((await verify(old.token)).tokenId).toBe(old.jti);
    const fresh = await issue();
    expect(fresh.kid).toBe(rotated.kid);
    // The old key verifies until every token it signed has expired (30 days), then retires.
    now += 30 * day - 60_000;
    expect((await verify(old.token)).tokenId).toBe(old.jti);
    now += 120_000;
    expect(security.keyring.list()[0]!.status).toBe('retired');
    const reopened = await open({ security: { key_rotation_days: 90, max_token_ttl_days: 30 } });
    await expect(reopened.authenticator.verify(bearer(old.token))).rejects.toMatchObject({
      code: 'unknown_signing_key',
    });
    expect((await store.signingKeys.list()).length).toBe(2);
  });

  it('rotates by itself when the signing period is over', async () => {
    await open({ security: { key_rotation_days: 90 } });
    expect(await security.keyring.ensureCurrent()).toBe('unchanged');
    // Two hours before its end, more than the upkeep's hour between checks: it never runs out.
    now += 90 * day - 2.5 * 3_600_000;
    expect(await security.keyring.ensureCurrent()).toBe('unchanged');
    now += 3_600_000;
    expect(await security.keyring.ensureCurrent()).toBe('rotated');
    expect(security.keyring.list().map((key) => key.status)).toEqual(['verifying-only', 'active']);
  });

  it('verifies tokens of an external issuer whose public key was imported', async () => {
    await open({ security: { jwt: { accepted_issuers: ['https://idp.example.com'] } } });
    const external = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = external.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const imported = await security.keyring.importPublic(pem, 'idp-2026');
    expect(imported).toMatchObject({
      kid: 'idp-2026',
      source: 'imported',
      status: 'verifying-only',
    });
    const seconds = Math.floor(now / 1000);
    const token = await new SignJWT({ groups: ['dev'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-2026' })
      .setIssuer('https://idp.example.com')
      .setAudience('assistd')
      .setSubject('bob@example.com')
      .setJti('idp-1')
      .setExpirationTime(seconds + 600)
      .sign(external.privateKey);
    expect(await verify(token)).toMatchObject({ name: 'bob@example.com', groups: ['dev'] });
    await expect(
      security.keyring.importPublic(
        generateKeyPairSync('rsa', { modulusLength: 1024 })
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString(),
      ),
    ).rejects.toThrow(/at least 2048 bits/);
    await expect(security.keyring.importPublic('not a key')).rejects.toThrow(/not a PEM/);
  });

  it('refuses claims it cannot use, signed by a trusted key, with 401 and never later a 500', async () => {
    await open({ security: { jwt: { accepted_issuers: ['https://idp.example.com'] } } });
    const external = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await security.keyring.importPublic(
      external.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      'idp-2026',
    );
    const seconds = Math.floor(now / 1000);
    // Signed by hand, so that any JSON (1e999, arrays for strings) reaches the verifier.
    const signed = (claims: string) => {
      const header = Buffer.from('{"alg":"RS256","kid":"idp-2026"}').toString('base64url');
      const body = Buffer.from(claims).toString('base64url');
      const signature = sign('sha256', Buffer.from(`${header}.${body}`), external.privateKey);
      return `${header}.${body}.${signature.toString('base64url')}`;
    };
    const claims = (fields: Record<string, string>) => {
      const all: Record<string, string> = {
        iss: '"https://idp.example.com"',
        aud: '"assistd"',
        sub: '"bob@example.com"',
        jti: '"idp-1"',
        exp: String(seconds + 600),
        ...fields,
      };
      return `{${Object.entries(all)
        .map(([name, value]) => `"${name}":${value}`)
        .join(',')}}`;
    };
    expect(await verify(signed(claims({})))).toMatchObject({ name: 'bob@example.com' });
    const refused: Array<[Record<string, string>, string]> = [
      // An imported key never passes for this server's own issuer.
      [{ iss: '"assistd"' }, 'wrong_token_issuer'],
      [{ sub: '12345' }, 'invalid_token'],
      [{ sub: '{"a":1}' }, 'invalid_token'],
      [{ sub: '["bob"]' }, 'invalid_token'],
      [{ sub: 'true' }, 'invalid_token'],
      [{ sub: '"\u202eevil"' }, 'invalid_token'],
      [{ jti: '424242' }, 'invalid_token'],
      [{ jti: '{"x":1}' }, 'invalid_token'],
      [{ jti: '"with space/slash"' }, 'invalid_token'],
      [{ jti: `"${'j'.repeat(129)}"` }, 'invalid_token'],
      [{ exp: '1e999' }, 'invalid_token'],
      // Finite, but past what a Date holds (the console's session answered 500 for it).
      [{ exp: '1e13' }, 'invalid_token'],
      [{ exp: '1e300' }, 'invalid_token'],
      // A token issued in the future is invalid, not "not valid yet" (that is nbf's answer).
      [{ iat: String(seconds + 100_000) }, 'invalid_token'],
      [{ iat: String(seconds + 45), nbf: String(seconds) }, 'invalid_token'],
      [{ nbf: String(seconds + 100) }, 'token_not_yet_valid'],
    ];
    for (const [fields, code] of refused) {
      await expect(verify(signed(claims(fields))), JSON.stringify(fields)).rejects.toMatchObject({
        status: 401,
        code,
      });
    }
  });

  it('publishes every key that verifies in the JWKS, never a private part', async () => {
    await security.keyring.rotate();
    const jwks = await security.keyring.jwks();
    expect(jwks.keys).toHaveLength(2);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    }
  });

  it('stores private keys sealed, never as PEM', async () => {
    const [record] = await store.signingKeys.list();
    expect(record!.privateKeySealed).toBeDefined();
    expect(record!.privateKeySealed).not.toContain('PRIVATE KEY');
    expect(record!.publicKeyPem).toContain('BEGIN PUBLIC KEY');
  });

  it('refuses to generate a second active key; rotate replaces it', async () => {
    await expect(security.keyring.generate()).rejects.toThrow(/already signing.*keys rotate/);
  });
});
