import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api/api-error';
import { fetchSession } from './api/session';
import type { Session } from './api/types';
import { SignInPage } from './components/sign-in-page';
import { SignedInPage } from './components/signed-in-page';
import { describeError, describeSessionEnd } from './error-text';
import { useTheme } from './hooks/use-theme';
import { expiryOf, forgetExpiry, rememberExpiry, rememberedExpiry } from './session-expiry';

type AuthState =
  | { kind: 'checking' }
  | { kind: 'signed-out'; message: string | undefined }
  | { kind: 'signed-in'; session: Session };

/** Asks the server whether the cookie holds a session, then shows sign-in or the signed-in page. */
export function App() {
  const theme = useTheme();
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });

  const signedIn = useCallback((session: Session) => {
    rememberExpiry(session);
    setAuth({ kind: 'signed-in', session });
  }, []);

  useEffect(() => {
    fetchSession().then(signedIn, (error: unknown) => {
      // A reload after the token expired: this tab remembers when it would.
      const message =
        error instanceof ApiError ? describeSessionEnd(error, true, rememberedExpiry()) : undefined;
      forgetExpiry();
      setAuth({ kind: 'signed-out', message });
    });
  }, [signedIn]);

  const sessionEnded = useCallback((error: ApiError) => {
    forgetExpiry();
    // Requests in flight when the session ends all fail; the first says best why (the server
    // clears the cookie on it, so the later ones only see that there is none).
    setAuth((current) =>
      current.kind !== 'signed-in'
        ? current
        : {
            kind: 'signed-out',
            message:
              describeSessionEnd(error, false, expiryOf(current.session)) ?? describeError(error),
          },
    );
  }, []);
  const signedOut = useCallback(() => {
    forgetExpiry();
    setAuth({ kind: 'signed-out', message: undefined });
  }, []);

  if (auth.kind === 'checking') {
    return (
      <main class="loading-page" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (auth.kind === 'signed-out') {
    return <SignInPage message={auth.message} onSignedIn={signedIn} theme={theme} />;
  }
  return (
    <SignedInPage
      // Another principal (signed in from another tab) gets a fresh page, not this one's state.
      key={auth.session.principal}
      session={auth.session}
      theme={theme}
      onSessionEnded={sessionEnded}
      onSessionRenewed={signedIn}
      onSignedOut={signedOut}
    />
  );
}
