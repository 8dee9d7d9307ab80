import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbortError } from '../api/api-error';

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

/**
 * `load` polled as above, each call aborting the one before (and unmounting the last): the
 * newest answer (none again after `deps` change), or the error of the newest failure as
 * `describe` words it (cleared by the next success). Aborted calls change nothing.
 */
export function usePolledResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  describe: (failure: unknown) => string,
  intervalMs: number,
  deps: readonly unknown[],
): { value: T | undefined; error: string | undefined } {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const inFlight = useRef<AbortController | undefined>(undefined);
  // New deps (another time range) make the old answer stale: nothing is shown until the new one.
  useEffect(() => setValue(undefined), deps);
  usePolling(
    () => {
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      load(controller.signal).then(
        (loaded) => {
          setValue(loaded);
          setError(undefined);
        },
        (failure: unknown) => {
          if (!isAbortError(failure)) setError(describe(failure));
        },
      );
    },
    intervalMs,
    deps,
  );
  useEffect(() => () => inFlight.current?.abort(), []);
  return { value, error };
}
