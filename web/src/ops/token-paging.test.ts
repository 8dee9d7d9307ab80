import { describe, expect, it } from 'vitest';
import { type TokenView, tokensPath } from '../api/tokens';
import { appendPage, canRevoke, firstListing, markRevoked } from './token-paging';

function token(id: string, overrides: Partial<TokenView> = {}): TokenView {
  return {
    id,
    type: 'jwt',
    principal: `${id}@example.com`,
    groups: [],
    created_at: '2025-03-01T12:00:00Z',
    expires_at: '2025-03-31T12:00:00Z',
    kid: 'k1',
    issued_by: null,
    status: 'active',
    revoked_at: null,
    ...overrides,
  };
}

describe('tokensPath', () => {
  it('asks for a page, the next one by cursor, and expired tokens only when shown', () => {
    expect(tokensPath({ limit: 50, includeExpired: false })).toBe('/admin/tokens?limit=50');
    expect(tokensPath({ limit: 50, cursor: 'c/2=', includeExpired: true })).toBe(
      '/admin/tokens?limit=50&cursor=c%2F2%3D&include_expired=true',
    );
  });
});

describe('token listing', () => {
  it('appends pages in order and goes on from the last cursor', () => {
    const first = firstListing({ data: [token('a'), token('b')], next_cursor: 'c1' });
    expect(first.nextCursor).toBe('c1');
    const second = appendPage(first, { data: [token('c')], next_cursor: null });
    expect(second.tokens.map((entry) => entry.id)).toEqual(['a', 'b', 'c']);
    expect(second.nextCursor).toBeNull();
  });

  it('does not show a token twice when the listing shifted between pages', () => {
    const first = firstListing({ data: [token('a'), token('b')], next_cursor: 'c1' });
    const second = appendPage(first, { data: [token('b'), token('c')], next_cursor: 'c2' });
    expect(second.tokens.map((entry) => entry.id)).toEqual(['a', 'b', 'c']);
  });

  it('marks a revoked token and keeps an earlier revocation time', () => {
    const listing = firstListing({
      data: [token('a'), token('b', { status: 'revoked', revoked_at: '2025-03-02T00:00:00Z' })],
      next_cursor: null,
    });
    const now = '2025-03-05T00:00:00.000Z';
    const revoked = markRevoked(markRevoked(listing, 'a', now), 'b', now);
    expect(revoked.tokens.map((entry) => [entry.status, entry.revoked_at])).toEqual([
      ['revoked', now],
      ['revoked', '2025-03-02T00:00:00Z'],
    ]);
    // The listing it came from is unchanged.
    expect(listing.tokens[0]?.status).toBe('active');
  });

  it('offers Revoke for active tokens only', () => {
    expect(canRevoke(token('a'))).toBe(true);
    expect(canRevoke(token('a', { status: 'expired' }))).toBe(false);
    expect(canRevoke(token('a', { status: 'revoked' }))).toBe(false);
  });
});
