import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { TokenRecord, TokenStore } from '../storage/types.js';
import type { Clock } from '../util/ids.js';

/** Who is calling, as established by the bearer token. */
export interface Principal {
  name: string;
  admin: boolean;
  tokenId: string;
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

/** Checks `Authorization` headers against the token store. */
export class TokenVerifier {
  constructor(
    private readonly tokens: TokenStore,
    private readonly clock: Clock,
  ) {}

  async verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') throw new AppError('missing_token');
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) {
      throw new AppError('invalid_token', 'The Authorization header must be "Bearer <token>".');
    }
    const parts = tokenPattern.exec(match[1]!);
    if (!parts) throw new AppError('invalid_token');
    const record = await this.tokens.findToken(parts[1]!);
    const presented = hashSecret(parts[2]!);
    const matches = timingSafeEqual(presented, record?.secretHash ?? dummyHash);
    if (!record || !matches) throw new AppError('invalid_token');
    if (record.expiresAt !== undefined && record.expiresAt <= this.clock()) {
      throw new AppError('expired_token');
    }
    return { name: record.principal, admin: record.admin, tokenId: record.id };
  }
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
