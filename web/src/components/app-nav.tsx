import type { Route } from '../route';

/** Chat and Operations; shown only to a principal whose policies allow an Operations page. */
export function AppNav({ route }: { route: Route }) {
  return (
    <nav class="app-nav" aria-label="Pages">
      <a
        class="app-nav-link"
        href="#/chat"
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
