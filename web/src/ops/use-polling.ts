import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `poll` now and every `intervalMs` while the page is visible; a hidden tab polls no more
 * and polls at once when shown again. Stops on unmount and starts over when `deps` change.
 */
export function usePolling(poll: () => void, intervalMs: number, deps: readonly unknown[]): void {
  const latest = useRef(poll);
  latest.current = poll;
  useEffect(() => {
    let timer: number | undefined;
    const stop = () => {
      if (timer !== undefined) window.clearInterval(timer);
      timer = undefined;
    };
    const start = () => {
      stop();
      latest.current();
      timer = window.setInterval(() => latest.current(), intervalMs);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') start();
      else stop();
    };
    if (document.visibilityState === 'visible') start();
    else latest.current();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [intervalMs, ...deps]);
}
