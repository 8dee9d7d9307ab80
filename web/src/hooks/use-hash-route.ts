import { useEffect, useState } from 'preact/hooks';
import { type Route, parseRoute } from '../route';

/** The route in the location hash, followed as it changes (links, back and forward). */
export function useHashRoute(): Route {
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
  return route;
}
