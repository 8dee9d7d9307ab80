import type { TokenPage, TokenView } from '../api/tokens';

/** The tokens loaded so far, newest first, and where the listing goes on. */
export interface TokenListing {
  tokens: TokenView[];
  /** The cursor of the next page; null: everything is loaded. */
  nextCursor: string | null;
}

export function firstListing(page: TokenPage): TokenListing {
  return appendPage({ tokens: [], nextCursor: null }, page);
}

/**
 * The listing with the next page after it. A token issued or revoked between two pages can
 * shift the server's listing; one already shown is not shown twice.
 */
export function appendPage(listing: TokenListing, page: TokenPage): TokenListing {
  const seen = new Set(listing.tokens.map((token) => token.id));
  const fresh = page.data.filter((token) => !seen.has(token.id));
  return { tokens: [...listing.tokens, ...fresh], nextCursor: page.next_cursor };
}

/**
 * The listing once `id` was revoked at `revokedAt` (ISO): the server answers a revoke with the
 * id alone, so the row is updated here. A time from an earlier revoke is kept.
 */
export function markRevoked(listing: TokenListing, id: string, revokedAt: string): TokenListing {
  return {
    ...listing,
    tokens: listing.tokens.map((token) =>
      token.id === id
        ? { ...token, status: 'revoked', revoked_at: token.revoked_at ?? revokedAt }
        : token,
    ),
  };
}

/** Only an active token can be revoked from the table; expired ones no longer work anyway. */
export function canRevoke(token: TokenView): boolean {
  return token.status === 'active';
}
