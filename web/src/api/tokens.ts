import type { ApiClient } from './client';

/** `active`, `expired`, `revoked`; a newer server may add more. */
export type TokenStatus = string;

/** One token as `GET /admin/tokens` lists it (never the token itself); times are ISO 8601. */
export interface TokenView {
  /** The JWT's `jti` or the opaque token's id: what revoking takes. */
  id: string;
  type: 'jwt' | 'opaque';
  principal: string;
  groups: string[];
  created_at: string;
  /** Null: never expires. */
  expires_at: string | null;
  /** The signing key's id; null for opaque tokens. */
  kid: string | null;
  /** Who issued it; null when issued offline (`assistd tokens issue`). */
  issued_by: string | null;
  status: TokenStatus;
  revoked_at: string | null;
}

/** One page of `GET /admin/tokens`, newest first. */
export interface TokenPage {
  data: TokenView[];
  /** Passed back as `cursor` for the next page; null at the end. */
  next_cursor: string | null;
}

/** Which page to ask for. */
export interface TokenQuery {
  limit: number;
  cursor?: string | undefined;
  /** Expired tokens are left out unless asked for. */
  includeExpired: boolean;
}

/** `POST /admin/tokens`. */
export interface IssueTokenRequest {
  principal: string;
  groups?: string[];
  /** `30d`, `12h`, `15m`, `2w`; absent: the server's default. */
  ttl?: string;
  admin?: boolean;
}

/** The answer to an issue: the only time the token itself is shown. */
export interface IssuedToken {
  id: string;
  token: string;
  type: 'jwt';
  principal: string;
  groups: string[];
  kid: string;
  created_at: string;
  expires_at: string | null;
}

/** `DELETE /admin/tokens/:id`. */
export interface RevokeResult {
  id: string;
  revoked: true;
  /** True when someone revoked it before. */
  already_revoked: boolean;
  /**
   * Whether this service issued the token. Always true for a token of the listing; false for an
   * id revoked by hand that no token here carries (a JWT of another issuer, or a mistyped id).
   */
  issued_here: boolean;
}

export function tokensPath(query: TokenQuery): string {
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  if (query.includeExpired) params.set('include_expired', 'true');
  return `/admin/tokens?${params.toString()}`;
}

export async function fetchTokens(
  api: ApiClient,
  query: TokenQuery,
  signal?: AbortSignal,
): Promise<TokenPage> {
  const body = (await api.json(tokensPath(query), { signal })) as Partial<TokenPage>;
  return {
    data: Array.isArray(body.data) ? body.data : [],
    next_cursor: typeof body.next_cursor === 'string' ? body.next_cursor : null,
  };
}

export async function issueToken(
  api: ApiClient,
  request: IssueTokenRequest,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  return (await api.json('/admin/tokens', {
    method: 'POST',
    body: request,
    signal,
  })) as IssuedToken;
}

export async function revokeToken(api: ApiClient, id: string): Promise<RevokeResult> {
  return (await api.json(`/admin/tokens/${encodeURIComponent(id)}`, {
    method: 'DELETE',
  })) as RevokeResult;
}
