import { useEffect, useRef, useState } from 'preact/hooks';
import type { IssuedToken } from '../api/tokens';
import { TimeText } from './time-text';

export interface IssuedTokenPanelProps {
  issued: IssuedToken;
  /** Forgets the token: the panel goes and the token is nowhere in the page any more. */
  onDismiss: () => void;
}

type CopyState = 'idle' | 'copied' | 'failed';

/**
 * The new token, shown once: a read-only field (focused and selected, so Ctrl+C works at once),
 * a Copy button and the warning that it will not be shown again. It lives only in the section's
 * state: never in storage or the URL.
 */
export function IssuedTokenPanel({ issued, onDismiss }: IssuedTokenPanelProps) {
  const [copy, setCopy] = useState<CopyState>('idle');
  const field = useRef<HTMLInputElement>(null);

  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, [issued.id]);

  async function copyToken() {
    try {
      await navigator.clipboard.writeText(issued.token);
      setCopy('copied');
    } catch {
      // No clipboard access (an insecure origin, a refused permission): the text stays selected.
      field.current?.focus();
      field.current?.select();
      setCopy('failed');
    }
  }

  return (
    <div
      class="issued-token"
      role="region"
      aria-labelledby="issued-token-title"
      data-testid="issued-token-panel"
      data-id={issued.id}
    >
      <h3 class="token-form-title" id="issued-token-title">
        New token for <bdi>{issued.principal}</bdi>
      </h3>
      <p class="issued-token-warning" id="issued-token-warning">
        <strong>Copy it now: it will not be shown again.</strong> Anyone who has it can act as{' '}
        <bdi>{issued.principal}</bdi> until it expires or is revoked.
      </p>
      <label class="visually-hidden" for="issued-token-value">
        The new token
      </label>
      <div class="issued-token-row">
        <input
          ref={field}
          id="issued-token-value"
          class="text-input text-input--small issued-token-value"
          data-testid="issued-token"
          readOnly
          autocomplete="off"
          spellcheck={false}
          value={issued.token}
          aria-describedby="issued-token-warning issued-token-details"
          onFocus={(event) => event.currentTarget.select()}
        />
        <button
          type="button"
          class="button button--primary"
          data-testid="issued-token-copy"
          onClick={() => void copyToken()}
        >
          Copy
        </button>
        <button type="button" class="button" data-testid="issued-token-dismiss" onClick={onDismiss}>
          Done
        </button>
      </div>
      <p class="muted small" id="issued-token-details">
        ID <code>{issued.id}</code>
        {issued.groups.length > 0 && <> · groups {issued.groups.join(', ')}</>} ·{' '}
        {issued.expires_at === null ? (
          'never expires'
        ) : (
          <>
            expires <TimeText value={issued.expires_at} />
          </>
        )}
      </p>
      <p class="small" aria-live="polite" data-testid="issued-token-copy-state">
        {copy === 'copied' && 'Copied to the clipboard.'}
        {copy === 'failed' &&
          'Copying is not allowed here: the token is selected; press Ctrl+C (⌘C on a Mac).'}
      </p>
    </div>
  );
}
