export type Theme = 'light' | 'dark';

/** The only thing the console keeps in localStorage: the user's theme choice. */
const storageKey = 'assistd-console-theme';

const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

export function systemTheme(): Theme {
  return darkQuery.matches ? 'dark' : 'light';
}

/** The stored choice; storage can be unavailable (private mode, policies), which means none. */
export function storedTheme(): Theme | undefined {
  try {
    const value = window.localStorage.getItem(storageKey);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores a choice that differs from the system's; choosing the system's theme again forgets the
 * override, so the console follows the system from then on.
 */
export function storeTheme(theme: Theme): void {
  try {
    if (theme === systemTheme()) window.localStorage.removeItem(storageKey);
    else window.localStorage.setItem(storageKey, theme);
  } catch {
    // Without storage the choice lasts until the page is reloaded.
  }
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

/** Calls `listener` when the system theme changes; returns the unsubscribe function. */
export function onSystemThemeChange(listener: () => void): () => void {
  darkQuery.addEventListener('change', listener);
  return () => darkQuery.removeEventListener('change', listener);
}
