import { useEffect, useRef, useState } from 'preact/hooks';
import type { TokenView } from '../api/tokens';
import { ShortId } from './short-id';
import { TimeText } from './time-text';
import { canRevoke } from './token-paging';

const knownStatuses = new Set(['active', 'expired', 'revoked']);

/** The token's status as text in a coloured badge: the colour repeats the word, never replaces it. */
export function TokenStatusBadge({ status }: { status: string }) {
  const kind = knownStatuses.has(status) ? status : 'unknown';
  return (
    <span class={`state-badge token-badge--${kind}`} data-status={status}>
      {status}
    </span>
  );
}

export interface TokenRowProps {
  token: TokenView;
  /** Resolves true once the server revoked it (the listing then updates the row). */
  onRevoke: (token: TokenView) => Promise<boolean>;
}

/**
 * One token. Revoke asks first, inline in the row (Escape or Cancel keeps the token); focus moves
 * to the confirm button and back, or to the row once the token is revoked and the button gone.
 */
export function TokenRow({ token, onRevoke }: TokenRowProps) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const revokeButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const rowHeader = useRef<HTMLTableCellElement>(null);
  const wasConfirming = useRef(false);
  const revocable = canRevoke(token);

  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
    else if (wasConfirming.current) (revokeButton.current ?? rowHeader.current)?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  async function confirm() {
    setBusy(true);
    await onRevoke(token);
    setBusy(false);
    setConfirming(false);
  }

  return (
    <tr
      data-testid="token-row"
      data-id={token.id}
      data-principal={token.principal}
      data-status={token.status}
    >
      <th scope="row" class="ops-cell-wrap" ref={rowHeader} tabIndex={-1}>
        {/* <bdi>: a name from before bidirectional characters were refused shows as written. */}
        <bdi class="token-principal">{token.principal}</bdi>
        <span class="muted small ops-block">
          ID <ShortId id={token.id} />
        </span>
      </th>
      <td class="ops-cell-wrap">
        {token.groups.length === 0 ? <span class="muted">–</span> : token.groups.join(', ')}
      </td>
      <td>{token.type === 'jwt' ? 'JWT' : 'opaque'}</td>
      <td>
        <TimeText value={token.created_at} />
        {token.issued_by !== null && (
          <span class="muted small ops-block">
            by <bdi>{token.issued_by}</bdi>
          </span>
        )}
      </td>
      <td>{token.expires_at === null ? 'never' : <TimeText value={token.expires_at} />}</td>
      <td>
        <TokenStatusBadge status={token.status} />
        {token.revoked_at !== null && (
          <span class="muted small ops-block">
            <TimeText value={token.revoked_at} />
          </span>
        )}
      </td>
      <td>{token.kid === null ? <span class="muted">–</span> : <ShortId id={token.kid} />}</td>
      <td class="token-actions">
        {revocable && !confirming && (
          <button
            ref={revokeButton}
            type="button"
            class="button button--small"
            data-testid="token-revoke"
            aria-label={`Revoke the token of ${token.principal} (ID ${token.id})`}
            onClick={() => setConfirming(true)}
          >
            Revoke
          </button>
        )}
        {revocable && confirming && (
          <div
            class="token-confirm"
            role="group"
            aria-label={`Revoke the token of ${token.principal}?`}
            onKeyDown={(event) => {
              if (event.key === 'Escape' && !busy) {
                event.stopPropagation();
                setConfirming(false);
              }
            }}
          >
            <span class="small">Revoke? It stops working at once.</span>
            <button
              ref={confirmButton}
              type="button"
              class="button button--danger button--small"
              data-testid="token-revoke-confirm"
              disabled={busy}
              onClick={() => void confirm()}
            >
              {busy ? 'Revoking…' : 'Revoke'}
            </button>
            <button
              type="button"
              class="button button--small"
              data-testid="token-revoke-cancel"
              disabled={busy}
              onClick={() => setConfirming(false)}
            >
              Cancel
            </button>
          </div>
        )}
      </td>
    </tr>
  );
}
