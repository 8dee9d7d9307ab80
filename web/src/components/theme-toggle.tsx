import type { ThemeState } from '../hooks/use-theme';
import { MoonIcon, SunIcon } from './icons';

/** A two-state button: pressed means dark. Choosing the system's theme again follows the system. */
export function ThemeToggle({ theme }: { theme: ThemeState }) {
  const dark = theme.theme === 'dark';
  return (
    <button
      type="button"
      class="button button--quiet theme-toggle"
      data-testid="theme-toggle"
      aria-pressed={dark}
      onClick={theme.toggle}
      title={dark ? 'Switch to the light theme' : 'Switch to the dark theme'}
    >
      {dark ? <MoonIcon /> : <SunIcon />}
      <span class="theme-toggle-label">Dark theme</span>
    </button>
  );
}
