import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.js';
import type { TokenRecord, TokenStore } from '../storage/types.js';
import type { Clock } from '../util/ids.js';

/** Who is calling, as established by the bearer token. */
export interface Principal {
  /** The subject: the token's principal (opaque tokens) or `sub` (JWTs). */
  name: string;
  /** Groups for policies (`group:NAME`); administrators are in `admin`. */
  groups: readonly string[];
  admin: boolean;
  /** The opaque token's id or the JWT's `jti`: what `tokens revoke` takes. */
  tokenId: string;
  method: 'opaque' | 'jwt';
  /**
   * When the token stops being valid, milliseconds since the epoch; undefined for an opaque token
   * without expiry. The console's session cookie lives no longer than this.
   */
  expiresAt?: number | undefined;
}

/**
 * Bearer tokens look like `asd_<16 hex id>_<43 chars of base64url secret>`. The store keeps only
 * the id and the SHA-256 of the 256-bit secret (a fast hash is enough for a random secret), so a
 * leaked database grants nothing. The id finds the row; the hashes are compared in constant time.
 */
const tokenPattern = /^asd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** Compared against when the id is unknown, so both paths cost the same. */
const dummyHash = createHash('sha256').update('assistd-no-such-token').digest();

export interface IssueTokenOptions {
  principal: string;
  admin?: boolean;
  /** Lifetime in milliseconds; undefined means no expiry. */
  ttlMs?: number | undefined;
  now: number;
}

export interface IssuedToken {
  token: string;
  record: TokenRecord;
}

/** Makes a new token; the caller stores `record` and shows `token` once. */
export function mintToken(options: IssueTokenOptions): IssuedToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return {
    token: `asd_${id}_${secret}`,
    record: {
      id,
      principal: options.principal,
      secretHash: hashSecret(secret),
      admin: options.admin ?? false,
      createdAt: options.now,
      expiresAt: options.ttlMs === undefined ? undefined : options.now + options.ttlMs,
    },
  };
}

export interface TokenVerifierOptions {
  /**
   * How long a token record read from the store is reused, in milliseconds. A store read costs
   * more than the rest of authentication; expiry and revocation are still checked on every
   * request.
   */
  cacheTtlMs?: number;
  /** Token records cached at most (default 10,000), the least recently used forgotten first. */
  cacheEntries?: number;
}

/** An opaque token anywhere in a text (a URL path, a CLI argument): its id, then its secret. */
/** An opaque token, or the start of one cut off (a record's resource ends at 512 characters). */
const tokenInText = /asd_([0-9a-f]{16})_[A-Za-z0-9_-]+/g;
/**
 * `%XX` of a character tokens are made of (`A-Za-z0-9._-`), decoded; any other escape stays as it
 * is (a decoded `%00` would put a NUL into the record, which PostgreSQL refuses).
 */
const asciiEscape = /%[2-7][0-9A-Fa-f]/g;
const decodeAscii = (escape: string) => {
  const char = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
  return /^[A-Za-z0-9._-]$/.test(char) ? char : escape;
};
/** A JWT (or the start of one, cut off): its header, then its claims and signature. */
const jwtInText = /(eyJ[A-Za-z0-9_-]*)\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?/g;

/**
 * `text` with the secret of every opaque token in it replaced by `…` (the id stays: it names the
 * token and grants nothing), and the claims and signature of every JWT (its header stays: it
 * names the key and grants nothing). For what is recorded from a request that put a token where an id
 * belongs, such as `DELETE /admin/tokens/asd_…` or a JWT pasted into a path.
 */
export function withoutTokenSecrets(text: string): string {
  // A token pasted with some characters %-encoded (`asd%5F…`, `.` as `%2E`) is one too.
  if (text.includes('%')) text = text.replace(asciiEscape, decodeAscii);
  const opaque = text.includes('asd_') ? text.replace(tokenInText, 'asd_$1_…') : text;
  return opaque.includes('eyJ') ? opaque.replace(jwtInText, '$1.…') : opaque;
}

/** The id of a whole opaque token (`asd_<id>_<secret>`); undefined for anything else. */
export function opaqueTokenId(text: string): string | undefined {
  return tokenPattern.exec(text)?.[1];
}

/** Whether a bearer token is one of the opaque `asd_…` tokens (else it may be a JWT). */
export function isOpaqueToken(token: string): boolean {
  return token.startsWith('asd_');
}

/** Checks opaque `asd_…` tokens against the token store. */
export class OpaqueTokenVerifier {
  private readonly records: LRUCache<string, TokenRecord>;

  constructor(
    private readonly tokens: TokenStore,
    private readonly clock: Clock,
    options: TokenVerifierOptions = {},
  ) {
    this.records = new LRUCache({
      max: options.cacheEntries ?? 10_000,
      ttl: options.cacheTtlMs ?? 30_000,
    });
  }

  /** Token records cached now (never more than `cacheEntries`, default 10,000). */
  get cachedTokens(): number {
    return this.records.size;
  }

  async verify(token: string): Promise<Principal> {
    const parts = tokenPattern.exec(token);
    if (!parts) throw new AppError('invalid_token');
    const record = await this.findRecord(parts[1]!);
    const presented = hashSecret(parts[2]!);
    const matches = timingSafeEqual(presented, record?.secretHash ?? dummyHash);
    if (!record || !matches) throw new AppError('invalid_token');
    if (record.expiresAt !== undefined && record.expiresAt <= this.clock()) {
      throw new AppError('expired_token');
    }
    // Checked on every request (not cached): a revocation by the CLI counts at once.
    if (await this.tokens.isRevoked(record.id)) throw new AppError('token_revoked');
    return {
      name: record.principal,
      groups: record.admin ? ['admin'] : [],
      admin: record.admin,
      tokenId: record.id,
      method: 'opaque',
      expiresAt: record.expiresAt,
    };
  }

  /** Only tokens that exist are cached, so unknown ids cannot fill the cache. */
  private async findRecord(id: string): Promise<TokenRecord | undefined> {
    const cached = this.records.get(id);
    if (cached) return cached;
    const record = await this.tokens.findToken(id);
    if (record) this.records.set(id, record);
    return record;
  }
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
