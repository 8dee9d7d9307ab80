import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  type Theme,
  applyTheme,
  onSystemThemeChange,
  storeTheme,
  storedTheme,
  systemTheme,
} from '../theme';

export interface ThemeState {
  theme: Theme;
  toggle: () => void;
}

/** The effective theme: the stored choice, else the system's (followed live). */
export function useTheme(): ThemeState {
  const [theme, setTheme] = useState<Theme>(() => storedTheme() ?? systemTheme());

  useEffect(() => applyTheme(theme), [theme]);

  useEffect(
    () =>
      onSystemThemeChange(() => {
        if (storedTheme() === undefined) setTheme(systemTheme());
      }),
    [],
  );

  const toggle = useCallback(() => {
    setTheme((current) => {
      const next = current === 'dark' ? 'light' : 'dark';
      storeTheme(next);
      return next;
    });
  }, []);

  return { theme, toggle };
}
