import { useCallback, useEffect, useState } from 'preact/hooks';
import { type Route, parseRoute, routeHash } from '../route';

/** Goes to a route: a new history entry, or (`replace`) in place of the current one. */
export type Navigate = (route: Route, how?: { replace?: boolean }) => void;

export interface HashRoute {
  route: Route;
  navigate: Navigate;
}

/** The route in the location hash, followed as it changes (links, back and forward). */
export function useHashRoute(): HashRoute {
  const [route, setRoute] = useState<Route>(
    () => parseRoute(window.location.hash) ?? { page: 'chat' },
  );
  useEffect(() => {
    const follow = () => {
      const next = parseRoute(window.location.hash);
      if (next !== undefined) setRoute(next);
    };
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);

  const navigate = useCallback<Navigate>((next, how = {}) => {
    const hash = routeHash(next);
    if (how.replace === true) {
      // No hashchange follows a replaced entry; its state (the session's expiry) is kept.
      window.history.replaceState(window.history.state, '', hash);
      setRoute(next);
    } else if (window.location.hash !== hash) {
      window.location.hash = hash;
    }
  }, []);

  return { route, navigate };
}
