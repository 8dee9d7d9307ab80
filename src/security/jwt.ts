import { randomUUID } from 'node:crypto';
import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from '../util/jose.js';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.js';
import type { TokenStore } from '../storage/types.js';
import type { Clock } from '../util/ids.js';
import type { Keyring } from './keyring.js';
import { principalPattern, tokenIdPattern } from './names.js';

/** Who signs and who may present tokens. */
export interface JwtSettings {
  /** `iss` of the tokens this server issues. */
  issuer: string;
  /** Issuers whose tokens are accepted (this server's and external ones with imported keys). */
  acceptedIssuers: readonly string[];
  /** `aud` every token must carry. */
  audience: string;
  /** Clock skew tolerated on `exp` and `nbf`, in seconds. */
  clockToleranceSeconds: number;
}

export interface IssueJwtOptions {
  principal: string;
  groups: readonly string[];
  ttlMs: number;
  now: number;
}

export interface IssuedJwt {
  token: string;
  jti: string;
  kid: string;
  expiresAt: number;
}

/** Signs a token with the keyring's active key (RS256). */
export async function issueJwt(
  keyring: Keyring,
  settings: JwtSettings,
  options: IssueJwtOptions,
): Promise<IssuedJwt> {
  const { kid, key } = await keyring.signingKey();
  const jti = randomUUID();
  const issuedAt = Math.floor(options.now / 1000);
  const expiresAt = issuedAt + Math.ceil(options.ttlMs / 1000);
  const token = await new SignJWT({ groups: [...options.groups] })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(options.principal)
    .setJti(jti)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, jti, kid, expiresAt: expiresAt * 1000 };
}

/** The claims assistd uses from a verified token. */
export interface VerifiedJwt {
  subject: string;
  groups: string[];
  jti: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The key that signed it. */
  kid: string;
}

/** A token that verified, as the cache holds it (see `JwtVerifier`). */
interface Remembered {
  token: string;
  claims: VerifiedJwt;
}

/**
 * The cache key of a token: the last 43 characters, 32 bytes of its RSA signature. Hashing the
 * whole ~800-character token for the lookup cost about 1 µs a request; a hit is confirmed by
 * comparing the whole token, so two tokens sharing a tail only share a slot, never claims.
 */
const keyLength = 43;

/**
 * Verifies RS256 tokens against the keyring. Only RS256 is accepted: `alg: none`, HS256 (say,
 * with the public key as the secret) and anything else fail before any key is looked at. A token
 * that verified is remembered (until it expires, at most a minute) so a client's repeated requests
 * skip the RSA check; revocation is still checked on every request (the SQLite store answers from
 * memory, at most 10 ms behind another process's revocation: storage/sqlite/revocations.ts).
 */
export class JwtVerifier {
  private readonly verified: LRUCache<string, Remembered>;

  /**
   * `cacheEntries`: verified tokens remembered at most (default 10,000), the least recently
   * used forgotten first. Only tokens that verified are remembered, each for at most a minute,
   * and the authenticator refuses tokens over 16 KiB, so this bounds the memory too.
   */
  constructor(
    private readonly keyring: Keyring,
    private readonly tokens: TokenStore,
    private readonly settings: JwtSettings,
    private readonly clock: Clock = Date.now,
    cacheEntries = 10_000,
  ) {
    this.verified = new LRUCache<string, Remembered>({ max: cacheEntries, ttl: 60_000 });
  }

  /** Tokens remembered now (never more than `cacheEntries`). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  async verify(token: string): Promise<VerifiedJwt> {
    // A remembered token stays good only while its key does (a retired key fails it at once).
    const claims = this.remembered(token) ?? (await this.check(token));
    if (await this.tokens.isRevoked(claims.jti)) {
      this.verified.delete(token.slice(-keyLength));
      throw new AppError('token_revoked');
    }
    return claims;
  }

  /**
   * The claims of a token that verified before and has not been revoked, answered without
   * waiting: undefined when that needs the RSA check or the store (`verify` then decides). The
   * same object for every request that presents the token.
   */
  verifiedNow(token: string): VerifiedJwt | undefined {
    const claims = this.remembered(token);
    return claims && this.tokens.isRevokedNow?.(claims.jti) === false ? claims : undefined;
  }

  private remembered(token: string): VerifiedJwt | undefined {
    const entry = this.verified.get(token.slice(-keyLength));
    if (entry?.token !== token) return undefined;
    const { claims } = entry;
    return claims.expiresAt > this.clock() && this.keyring.trusts(claims.kid) ? claims : undefined;
  }

  /**
   * What jose leaves unchecked: `sub` must be a principal name and `jti` a token id (so the
   * token can be revoked), `exp` finite, `iat` not in the future. Returns the subject.
   */
  private checkedClaims(payload: JWTPayload): string {
    if (typeof payload.sub !== 'string' || !principalPattern.test(payload.sub)) {
      throw badClaim('sub', 'must be a principal name (text of 1–200 characters)');
    }
    if (typeof payload.jti !== 'string' || !tokenIdPattern.test(payload.jti)) {
      throw badClaim('jti', 'must be 1–128 letters, digits or . _ : - (a revocable id)');
    }
    // A time a Date can hold (year 275760 at most): 1e13 is finite, and no time.
    if (!Number.isFinite(payload.exp) || payload.exp! * 1000 > maxDateMs) {
      throw badClaim('exp', 'must be a time a date can hold');
    }
    const tolerance = this.settings.clockToleranceSeconds;
    if (typeof payload.iat === 'number' && payload.iat > this.clock() / 1000 + tolerance) {
      throw badClaim('iat', 'is in the future (a token cannot be issued later than now)');
    }
    return payload.sub;
  }

  private async check(token: string): Promise<VerifiedJwt> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AppError('invalid_token');
    }
    if (header.alg !== 'RS256') {
      throw new AppError(
        'invalid_token',
        `Tokens must be signed with RS256; this one says alg "${String(header.alg)}".`,
      );
    }
    if (typeof header.kid !== 'string') {
      throw new AppError('invalid_token', 'The token header has no "kid".');
    }
    const key = await this.keyring.verificationKey(header.kid);
    if (!key) throw new AppError('unknown_signing_key');
    // This server's keys sign its own issuer's tokens; an imported key signs an external
    // issuer's, never this server's (it would let that issuer pass for this one).
    const issuers =
      key.source === 'generated'
        ? [this.settings.issuer]
        : this.settings.acceptedIssuers.filter((issuer) => issuer !== this.settings.issuer);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.publicKey, {
        algorithms: ['RS256'],
        issuer: issuers,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockToleranceSeconds,
        currentDate: new Date(this.clock()),
        requiredClaims: ['sub', 'exp', 'jti'],
      }));
    } catch (error) {
      throw mapJoseError(error);
    }
    const claims: VerifiedJwt = {
      subject: this.checkedClaims(payload),
      groups: stringList(payload.groups),
      jti: payload.jti!,
      expiresAt: payload.exp! * 1000,
      kid: header.kid,
    };
    this.verified.set(
      token.slice(-keyLength),
      { token, claims },
      {
        ttl: Math.max(1, Math.min(60_000, claims.expiresAt - this.clock())),
      },
    );
    return claims;
  }
}

/** The latest time a JavaScript Date holds, ms. */
const maxDateMs = 8.64e15;

/** A claim of a signed token that is not what assistd can use: 401, never a 500 later on. */
function badClaim(claim: string, what: string): AppError {
  return new AppError('invalid_token', `The token's "${claim}" claim ${what}.`);
}

function mapJoseError(error: unknown): AppError {
  if (error instanceof errors.JWTExpired) return new AppError('expired_token');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new AppError('token_not_yet_valid');
    if (error.claim === 'iat') return badClaim('iat', 'is in the future or not a time');
    if (error.claim === 'iss') return new AppError('wrong_token_issuer');
    if (error.claim === 'aud') return new AppError('wrong_token_audience');
    return new AppError(
      'invalid_token',
      `The token's "${error.claim}" claim is missing or invalid.`,
    );
  }
  return new AppError('invalid_token');
}

function stringList(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}
