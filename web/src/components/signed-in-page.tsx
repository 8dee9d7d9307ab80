import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api/api-error';
import { createApiClient } from '../api/client';
import { allowedSections } from '../api/ops-access';
import type { Session } from '../api/types';
import type { Route } from '../route';
import { useHashRoute } from '../hooks/use-hash-route';
import { useOpsAccess } from '../hooks/use-ops-access';
import type { ThemeState } from '../hooks/use-theme';
import type { OpsPageProps } from '../ops/ops-page';
import { AppNav } from './app-nav';
import { ChatPage } from './chat-page';

export interface SignedInPageProps {
  session: Session;
  theme: ThemeState;
  onSessionEnded: (error: ApiError) => void;
  onSessionRenewed: (session: Session) => void;
  onSignedOut: () => void;
}

/** The Operations pages (and uPlot with them) load only for a principal who may see them. */
const loadOpsPage = () => import('../ops/ops-page').then((module) => module.OpsPage);

/**
 * The signed-in console: the chat, and the Operations pages for principals whose policies allow
 * them. Which sections exist is asked of the server (one probe per section), not read off the
 * session's `admin` flag: a custom policy can open them to others.
 */
export function SignedInPage(props: SignedInPageProps) {
  // Callbacks through a ref: the client is made once per page and must not go stale.
  const callbacks = useRef(props);
  callbacks.current = props;
  const [api] = useState(() =>
    createApiClient({
      session: props.session,
      onUnauthorized: (error) => callbacks.current.onSessionEnded(error),
      onSessionRenewed: (session) => callbacks.current.onSessionRenewed(session),
    }),
  );
  const { route, navigate } = useHashRoute();
  // The Chat link goes back to the conversation that was open, not to a new chat.
  const lastChat = useRef<Route>({ page: 'chat' });
  if (route.page === 'chat') lastChat.current = route;
  const access = useOpsAccess(api);
  const sections = access === undefined ? [] : allowedSections(access);
  const opsAllowed = sections.length > 0;
  const onOps = route.page === 'ops';

  const [OpsPage, setOpsPage] = useState<FunctionComponent<OpsPageProps> | undefined>(undefined);
  const [loadFailed, setLoadFailed] = useState(false);
  useEffect(() => {
    if (!onOps || !opsAllowed || OpsPage !== undefined) return;
    let current = true;
    loadOpsPage().then(
      (component) => {
        if (current) setOpsPage(() => component);
      },
      () => {
        if (current) setLoadFailed(true);
      },
    );
    return () => {
      current = false;
    };
  }, [onOps, opsAllowed, OpsPage]);

  let ops;
  if (onOps) {
    let content;
    if (access === undefined) {
      content = <p class="muted">Checking access…</p>;
    } else if (!opsAllowed) {
      content = (
        <p class="ops-denied" data-testid="ops-denied">
          You do not have access to operations pages.
        </p>
      );
    } else if (OpsPage !== undefined) {
      content = (
        <OpsPage api={api} theme={props.theme.theme} access={access} section={route.section} />
      );
    } else if (loadFailed) {
      content = (
        <p class="ops-denied">
          The operations pages could not be loaded. Reload the page to try again.
        </p>
      );
    } else {
      content = <p class="muted">Loading…</p>;
    }
    ops = (
      <main
        class="ops"
        id="ops-main"
        aria-busy={access === undefined || (opsAllowed && OpsPage === undefined && !loadFailed)}
      >
        {content}
      </main>
    );
  }

  return (
    <ChatPage
      api={api}
      session={props.session}
      theme={props.theme}
      onSignedOut={props.onSignedOut}
      route={route}
      navigate={navigate}
      nav={opsAllowed ? <AppNav route={route} chatRoute={lastChat.current} /> : undefined}
      replacement={ops}
    />
  );
}
