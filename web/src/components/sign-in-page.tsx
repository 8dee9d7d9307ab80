import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import { signIn } from '../api/session';
import type { Session } from '../api/types';
import { describeSignInFailure } from '../error-text';
import type { ThemeState } from '../hooks/use-theme';
import { ThemeToggle } from './theme-toggle';

export interface SignInPageProps {
  /** Why the previous session ended, if it did. */
  message: string | undefined;
  onSignedIn: (session: Session) => void;
  theme: ThemeState;
}

/**
 * Trades a bearer token for the session cookie. The token lives only in this form's state: it is
 * never written to localStorage or sessionStorage, and the form is gone once signed in.
 */
export function SignInPage({ message, onSignedIn, theme }: SignInPageProps) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), []);

  async function submit(event: Event) {
    event.preventDefault();
    const trimmed = token.trim();
    if (trimmed === '') {
      setError('Paste an access token first.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(trimmed);
      setToken('');
      onSignedIn(session);
    } catch (failure) {
      setBusy(false);
      setError(failure instanceof ApiError ? describeSignInFailure(failure) : 'Signing in failed.');
      input.current?.focus();
    }
  }

  return (
    <div class="sign-in-page">
      <header class="sign-in-header">
        <span class="brand">assistd</span>
        <ThemeToggle theme={theme} />
      </header>
      <main class="sign-in-main">
        <form
          class="sign-in-card"
          aria-labelledby="sign-in-title"
          noValidate
          onSubmit={(event) => void submit(event)}
        >
          <h1 id="sign-in-title">Sign in</h1>
          <p class="muted">
            Paste an access token. <code>assistd tokens issue --principal NAME</code> prints one;
            the administrator token is printed when the server first starts.
          </p>
          <label class="field-label" for="token-input">
            Access token
          </label>
          <input
            ref={input}
            id="token-input"
            class="text-input"
            type="password"
            data-testid="token-input"
            autocomplete="off"
            spellcheck={false}
            autoCapitalize="off"
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            aria-invalid={error !== undefined}
            aria-describedby="sign-in-message"
          />
          <div id="sign-in-message" aria-live="assertive">
            {error !== undefined && (
              <p class="form-error" data-testid="sign-in-error">
                {error}
              </p>
            )}
          </div>
          <button
            type="submit"
            class="button button--primary"
            data-testid="sign-in"
            disabled={busy}
          >
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          <p class="muted small">
            The token is sent once; the session lives in a cookie that scripts cannot read, not in
            this browser’s storage.
          </p>
        </form>
      </main>
    </div>
  );
}
