import type { IssuedJwtRecord, IssuedTokenFacts, TokenListing, TokenListQuery } from './types.js';

/** A row of the token list query, as both backends return it. */
export interface TokenListRow {
  id: string;
  type: 'jwt' | 'opaque';
  principal: string;
  groups: string;
  kid: string | null;
  issued_by: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/**
 * The token list: issued JWTs and opaque tokens (whose only group is `admin`, when they have
 * it), each with its revocation, newest first. `$n` placeholders in order: include expired (0 or
 * 1), now, cursor time, cursor time again, cursor id, limit: each used once, in order, so SQLite
 * can take plain `?`.
 */
export function tokenListSql(placeholder: (index: number) => string): string {
  const p = placeholder;
  return `SELECT t.*, r.revoked_at FROM (
      SELECT id, 'jwt' AS type, principal, groups, kid, issued_by, created_at, expires_at
        FROM issued_tokens
      UNION ALL
      SELECT id, 'opaque' AS type, principal,
             CASE WHEN admin THEN '["admin"]' ELSE '[]' END AS groups,
             NULL AS kid, NULL AS issued_by, created_at, expires_at
        FROM api_tokens
    ) t LEFT JOIN revoked_tokens r ON r.id = t.id
    WHERE (${p(1)} = 1 OR t.expires_at IS NULL OR t.expires_at > ${p(2)})
      AND (t.created_at < ${p(3)} OR (t.created_at = ${p(4)} AND t.id < ${p(5)}))
    ORDER BY t.created_at DESC, t.id DESC
    LIMIT ${p(6)}`;
}

/**
 * The principal and groups (JSON text) of a token this service issued: a registered JWT's `jti`
 * or an opaque token's id; no row for another id. Two placeholders, both the id, so SQLite can
 * take plain `?`.
 */
export function issuedTokenSql(placeholder: (index: number) => string): string {
  return `SELECT principal, groups FROM issued_tokens WHERE id = ${placeholder(1)}
    UNION ALL
    SELECT principal, CASE WHEN admin THEN '["admin"]' ELSE '[]' END AS groups
      FROM api_tokens WHERE id = ${placeholder(2)}
    LIMIT 1`;
}

/** A row of `issuedTokenSql`, as `TokenStore.issuedToken` answers it. */
export function toIssuedToken(
  row: { principal: string; groups: string } | undefined,
): IssuedTokenFacts | undefined {
  return row && { principal: row.principal, groups: parseGroups(row.groups) };
}

/** The values for `tokenListSql`, in placeholder order. */
export function tokenListValues(query: TokenListQuery): unknown[] {
  const before = query.before ?? { createdAt: Number.MAX_SAFE_INTEGER, id: '' };
  // Without a cursor every row is older than MAX_SAFE_INTEGER; the id test never decides.
  return [
    query.includeExpired ? 1 : 0,
    query.now,
    before.createdAt,
    before.createdAt,
    before.id,
    query.limit,
  ];
}

export function toTokenListing(row: TokenListRow): TokenListing {
  return {
    id: row.id,
    type: row.type,
    principal: row.principal,
    groups: parseGroups(row.groups),
    kid: row.kid ?? undefined,
    issuedBy: row.issued_by ?? undefined,
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
  };
}

/** `issued_tokens` columns in insert order. */
export const issuedTokenColumns = 'id, principal, groups, kid, issued_by, created_at, expires_at';

export function issuedTokenValues(token: IssuedJwtRecord): unknown[] {
  return [
    token.id,
    token.principal,
    JSON.stringify(token.groups),
    token.kid,
    token.issuedBy ?? null,
    token.createdAt,
    token.expiresAt,
  ];
}

function parseGroups(text: string): string[] {
  const parsed = JSON.parse(text) as unknown;
  return Array.isArray(parsed) ? parsed.filter((group) => typeof group === 'string') : [];
}
