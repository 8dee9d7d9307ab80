import type { ComponentChildren } from 'preact';
import type { Session } from '../api/types';
import type { ThemeState } from '../hooks/use-theme';
import { MenuIcon } from './icons';
import { ThemeToggle } from './theme-toggle';

export interface AppHeaderProps {
  session: Session;
  theme: ThemeState;
  /** The page links (only for principals who may see more than the chat). */
  nav?: ComponentChildren;
  /** The conversations toggle belongs to the chat; other pages leave it out. */
  showSidebarToggle: boolean;
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
  onSignOut: () => void;
  signingOut: boolean;
}

export function AppHeader(props: AppHeaderProps) {
  const { session } = props;
  return (
    <header class="app-header">
      {props.showSidebarToggle && (
        <button
          type="button"
          class="button button--quiet sidebar-toggle"
          id="sidebar-toggle"
          data-testid="sidebar-toggle"
          aria-controls="conversation-sidebar"
          aria-expanded={props.sidebarOpen}
          onClick={props.onToggleSidebar}
        >
          <MenuIcon />
          <span class="sidebar-toggle-label">Conversations</span>
        </button>
      )}
      <span class="brand">assistd</span>
      {props.nav}
      <span class="header-spacer" />
      <span class="principal" title={`Signed in as ${session.principal}`}>
        <span class="visually-hidden">Signed in as </span>
        <bdi>{session.principal}</bdi>
        {session.admin && <span class="badge">admin</span>}
      </span>
      <ThemeToggle theme={props.theme} />
      <button
        type="button"
        class="button"
        data-testid="sign-out"
        onClick={props.onSignOut}
        disabled={props.signingOut}
      >
        Sign out
      </button>
    </header>
  );
}
