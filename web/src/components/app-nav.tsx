import { type Route, routeHash } from '../route';

/**
 * Chat and Operations; shown only to a principal whose policies allow an Operations page.
 * `chatRoute` is where Chat leads: the conversation last open.
 */
export function AppNav({ route, chatRoute }: { route: Route; chatRoute: Route }) {
  return (
    <nav class="app-nav" aria-label="Pages">
      <a
        class="app-nav-link"
        href={routeHash(chatRoute)}
        data-testid="nav-chat"
        aria-current={route.page === 'chat' ? 'page' : undefined}
      >
        Chat
      </a>
      <a
        class="app-nav-link"
        href="#/ops"
        data-testid="nav-ops"
        aria-current={route.page === 'ops' ? 'page' : undefined}
      >
        Operations
      </a>
    </nav>
  );
}
