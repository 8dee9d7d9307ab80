import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
import { type IssuedToken, type TokenView, fetchTokens, revokeToken } from '../api/tokens';
import { failureText } from '../error-text';
import { IssuedTokenPanel } from './issued-token';
import { LoadMore } from './load-more';
import { OpsError } from './ops-error';
import { OpsTable } from './ops-table';
import { TokenIssueForm } from './token-issue-form';
import { type TokenListing, appendPage, firstListing, markRevoked } from './token-paging';
import { TokenRow } from './token-row';
import { usePagedListing } from './use-paged-listing';
import '../styles/ops-tokens.css';

const pageSize = 50;

/**
 * "Tokens": the bearer tokens the server knows (never the tokens themselves), newest first, with
 * Revoke for active ones, and a form that issues a token and shows it once.
 */
export function OpsTokens({ api }: { api: ApiClient }) {
  const [includeExpired, setIncludeExpired] = useState(false);
  const [issued, setIssued] = useState<IssuedToken | undefined>(undefined);
  const [notice, setNotice] = useState('');
  // The first page, again when the filter changes, a token is issued or Refresh is pressed.
  const { listing, setListing, loading, error, setError, hasMore, loadMore, reload } =
    usePagedListing<TokenListing>({
      first: async (signal) =>
        firstListing(await fetchTokens(api, { limit: pageSize, includeExpired }, signal)),
      next: async (current, signal) =>
        appendPage(
          current,
          await fetchTokens(
            api,
            { limit: pageSize, cursor: current.nextCursor ?? undefined, includeExpired },
            signal,
          ),
        ),
      hasMore: (current) => current.nextCursor !== null,
      describe: (failure) => failureText('The tokens could not be loaded', failure),
      deps: [api, includeExpired],
    });

  async function revoke(token: TokenView): Promise<boolean> {
    setError(undefined);
    try {
      const result = await revokeToken(api, token.id);
      setListing((current) =>
        current === undefined ? current : markRevoked(current, token.id, new Date().toISOString()),
      );
      setNotice(
        result.already_revoked
          ? `The token of \u2068${token.principal}\u2069 was already revoked.`
          : `The token of \u2068${token.principal}\u2069 is revoked.`,
      );
      return true;
    } catch (failure) {
      setError(failureText('The token could not be revoked', failure));
      return false;
    }
  }

  function onIssued(token: IssuedToken) {
    setIssued(token);
    setNotice('');
    reload();
  }

  const noTokensText = includeExpired ? 'No tokens.' : 'No tokens (expired ones are hidden).';

  return (
    <section class="ops-section" data-testid="ops-tokens" aria-labelledby="ops-tokens-title">
      <h2 class="ops-section-title" id="ops-tokens-title">
        Tokens
      </h2>
      <p class="muted small">
        Bearer tokens for the API and this console. The server keeps no copy it could show again: a
        new token is shown once, when it is issued.
      </p>
      <TokenIssueForm api={api} onIssued={onIssued} />
      {issued !== undefined && (
        <IssuedTokenPanel issued={issued} onDismiss={() => setIssued(undefined)} />
      )}
      <div class="token-list-tools">
        <label class="token-toggle">
          <input
            type="checkbox"
            data-testid="tokens-show-expired"
            checked={includeExpired}
            onChange={(event) => {
              setListing(undefined);
              setIncludeExpired(event.currentTarget.checked);
            }}
          />
          <span>Show expired</span>
        </label>
        <button
          type="button"
          class="button button--quiet"
          data-testid="tokens-refresh"
          disabled={loading}
          onClick={reload}
        >
          Refresh
        </button>
      </div>
      <OpsError message={error} />
      <p class="visually-hidden" aria-live="polite" data-testid="tokens-notice">
        {notice}
      </p>
      <OpsTable
        labelledBy="ops-tokens-caption"
        testId="tokens-table"
        busy={loading}
        captionId="ops-tokens-caption"
        caption={`Tokens, newest first${includeExpired ? ', expired ones included' : ''}`}
        columns={[
          'Principal',
          'Groups',
          'Type',
          'Created',
          'Expires',
          'Status',
          'Key ID',
          <span class="visually-hidden">Actions</span>,
        ]}
        empty={listing?.tokens.length === 0 ? noTokensText : undefined}
      >
        {listing?.tokens.map((token) => (
          <TokenRow key={token.id} token={token} onRevoke={revoke} />
        ))}
      </OpsTable>
      <LoadMore
        loading={loading}
        hasMore={hasMore}
        label="Load more"
        testId="tokens-load-more"
        onLoadMore={loadMore}
      />
    </section>
  );
}
