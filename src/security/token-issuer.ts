import type { AuditDetailValue } from '../storage/audit-types.js';
import type { IssuedTokenFacts, TokenListing, TokenStore } from '../storage/types.js';
import type { Clock } from '../util/ids.js';
import { parseDuration } from '../util/duration.js';
import { issueJwt, type IssuedJwt, type JwtSettings } from './jwt.js';
import type { Keyring } from './keyring.js';
import { groupPattern, principalPattern, tokenIdPattern } from './names.js';
import { opaqueTokenId } from './tokens.js';

/**
 * A token request that cannot be honoured. `param` is the JSON member; `detail` reads after the
 * field's name (`--ttl` on the command line, `ttl` in the API): `"forever" is not a duration…`.
 */
export class TokenRequestError extends Error {
  constructor(
    readonly param: 'principal' | 'groups' | 'ttl' | 'id',
    readonly detail: string,
  ) {
    super(`${param} ${detail}`);
    this.name = 'TokenRequestError';
  }
}

/**
 * Refuses what cannot name a token to revoke, before anything is stored or recorded: an id of the
 * wrong form, or a whole opaque token (revoked and audited as an id, its secret would be kept in
 * plaintext).
 */
export function checkTokenId(id: string): void {
  const pasted = opaqueTokenId(id);
  if (pasted !== undefined) {
    throw new TokenRequestError(
      'id',
      `is a whole token, not its id: nothing was revoked or stored. Revoke it by its id, ` +
        `${pasted} (assistd tokens revoke ${pasted}); a token pasted somewhere is best revoked`,
    );
  }
  if (!tokenIdPattern.test(id)) {
    throw new TokenRequestError('id', 'must be 1–128 letters, digits or . _ : -');
  }
}

export interface TokenRequest {
  principal: string;
  groups: readonly string[];
  /** A lifetime such as `30d`, `12h`, `15m`. */
  ttl: string;
  /** Puts the token in the `admin` group. */
  admin?: boolean;
  /** The administrator issuing it (HTTP); undefined from the CLI. */
  issuedBy?: string | undefined;
}

export interface IssuedToken extends IssuedJwt {
  principal: string;
  groups: string[];
  createdAt: number;
}

/**
 * Issues JWTs and revokes tokens: the one path for `assistd tokens issue|revoke` and the admin
 * API. Every JWT issued is registered (never the token itself), so it can be listed and revoked
 * by its `jti`.
 */
export class TokenIssuer {
  constructor(
    private readonly options: {
      keyring: Keyring;
      jwt: JwtSettings;
      tokens: TokenStore;
      maxTokenTtlMs: number;
      clock: Clock;
    },
  ) {}

  /** Checks a request without issuing anything: the groups (with `admin`) and the ttl in ms. */
  check(request: TokenRequest): { groups: string[]; ttlMs: number } {
    if (!principalPattern.test(request.principal)) {
      throw new TokenRequestError(
        'principal',
        'must be 1–200 characters of well-formed text without control characters or a leading space',
      );
    }
    const bad = request.groups.find((group) => !groupPattern.test(group));
    if (bad !== undefined) {
      throw new TokenRequestError('groups', `"${bad}" must be 1–64 letters, digits or . _ : @ -`);
    }
    const ttlMs = parseDuration(request.ttl);
    if (ttlMs === undefined) {
      throw new TokenRequestError(
        'ttl',
        `"${request.ttl}" is not a duration such as 30d, 12h or 15m`,
      );
    }
    if (ttlMs > this.options.maxTokenTtlMs) {
      throw new TokenRequestError(
        'ttl',
        `${request.ttl} is longer than security.max_token_ttl_days ` +
          `(${this.options.maxTokenTtlMs / 86_400_000} days)`,
      );
    }
    const groups = [...new Set([...(request.admin === true ? ['admin'] : []), ...request.groups])];
    return { groups, ttlMs };
  }

  async issue(request: TokenRequest): Promise<IssuedToken> {
    const { groups, ttlMs } = this.check(request);
    const now = this.options.clock();
    const issued = await issueJwt(this.options.keyring, this.options.jwt, {
      principal: request.principal,
      groups,
      ttlMs,
      now,
    });
    await this.options.tokens.recordIssued({
      id: issued.jti,
      principal: request.principal,
      groups,
      kid: issued.kid,
      issuedBy: request.issuedBy,
      createdAt: now,
      expiresAt: issued.expiresAt,
    });
    return { ...issued, principal: request.principal, groups, createdAt: now };
  }

  /**
   * Revokes a token by its `jti` or opaque id: `fresh` false when it already was. Any id is
   * accepted (a JWT from an external issuer is not registered here); `issued` says to whom this
   * service issued it, undefined when it did not, so a mistyped id can be told apart.
   */
  async revoke(
    id: string,
    expiresAt?: number,
  ): Promise<{ fresh: boolean; issued: IssuedTokenFacts | undefined }> {
    checkTokenId(id);
    const fresh = await this.options.tokens.revoke({
      id,
      revokedAt: this.options.clock(),
      expiresAt,
    });
    return { fresh, issued: await this.options.tokens.issuedToken(id) };
  }
}

/**
 * What the audit record and the answer of a revocation say: the id, whether it already was, and
 * whether (and to whom) it was issued here. Never the token.
 */
export function revocationFacts(
  id: string,
  revoked: { fresh: boolean; issued: IssuedTokenFacts | undefined },
): Record<string, AuditDetailValue> {
  return {
    token_id: id,
    already_revoked: !revoked.fresh,
    issued_here: revoked.issued !== undefined,
    ...(revoked.issued && { principal: revoked.issued.principal, groups: revoked.issued.groups }),
  };
}

/**
 * One token as `GET /admin/tokens` and `tokens list --json` show it: facts only; the token
 * itself is never stored.
 */
export interface TokenJson {
  id: string;
  type: 'jwt' | 'opaque';
  principal: string;
  groups: string[];
  created_at: string;
  expires_at: string | null;
  kid: string | null;
  issued_by: string | null;
  status: 'active' | 'expired' | 'revoked';
  revoked_at: string | null;
}

const iso = (time: number | undefined): string | null =>
  time === undefined ? null : new Date(time).toISOString();

export function tokenJson(token: TokenListing, now: number): TokenJson {
  const status =
    token.revokedAt !== undefined
      ? 'revoked'
      : token.expiresAt !== undefined && token.expiresAt <= now
        ? 'expired'
        : 'active';
  return {
    id: token.id,
    type: token.type,
    principal: token.principal,
    groups: token.groups,
    created_at: new Date(token.createdAt).toISOString(),
    expires_at: iso(token.expiresAt),
    kid: token.kid ?? null,
    issued_by: token.issuedBy ?? null,
    status,
    revoked_at: iso(token.revokedAt),
  };
}
