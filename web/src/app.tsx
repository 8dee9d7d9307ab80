import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api/api-error';
import { fetchSession } from './api/session';
import type { Session } from './api/types';
import { SignInPage } from './components/sign-in-page';
import { SignedInPage } from './components/signed-in-page';
import { describeError, describeSessionEnd } from './error-text';
import { useTheme } from './hooks/use-theme';

type AuthState =
  | { kind: 'checking' }
  | { kind: 'signed-out'; message: string | undefined }
  | { kind: 'signed-in'; session: Session };

/** Asks the server whether the cookie holds a session, then shows sign-in or the signed-in page. */
export function App() {
  const theme = useTheme();
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });

  useEffect(() => {
    fetchSession().then(
      (session) => setAuth({ kind: 'signed-in', session }),
      (error: unknown) =>
        setAuth({
          kind: 'signed-out',
          message: error instanceof ApiError ? describeSessionEnd(error, true) : undefined,
        }),
    );
  }, []);

  const signedIn = useCallback((session: Session) => setAuth({ kind: 'signed-in', session }), []);
  const sessionEnded = useCallback((error: ApiError) => {
    setAuth({
      kind: 'signed-out',
      message: describeSessionEnd(error, false) ?? describeError(error),
    });
  }, []);
  const signedOut = useCallback(() => setAuth({ kind: 'signed-out', message: undefined }), []);

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
