/** Cancels a scheduled callback; calling it after the callback ran, or twice, does nothing. */
export type Cancel = () => void;

/**
 * The one timer primitive the alert engine and dispatcher use, injected so tests drive time by
 * hand instead of sleeping (STYLE.md §8). Everything else (evaluation schedules, send timeouts,
 * backoff, rate-limit waits, group waits) is built on it.
 */
export interface Timers {
  /** Calls `callback` once, `delayMs` milliseconds from now. */
  after(delayMs: number, callback: () => void): Cancel;
}

/**
 * Node's timers, unreferenced: a pending evaluation or retry never keeps the process alive on its
 * own (the HTTP server does that), so shutdown is never held up by the alert engine.
 */
export const systemTimers: Timers = {
  after(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** A promise that resolves after `delayMs`, or early (with `false`) when `cancel` is called. */
export interface Sleep {
  /** Resolves `true` when the time passed, `false` when cut short. */
  done: Promise<boolean>;
  cancel: Cancel;
}

/** Sleeps on `timers`; the returned `cancel` wakes the sleeper at once (used by `close()`). */
export function sleep(timers: Timers, delayMs: number): Sleep {
  let wake: (passed: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => {
    wake = resolve;
  });
  const cancelTimer = timers.after(delayMs, () => wake(true));
  return {
    done,
    cancel: () => {
      cancelTimer();
      wake(false);
    },
  };
}
