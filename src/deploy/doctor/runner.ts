import type { Check, CheckOutcome, CheckResult } from './check.js';
import { messageOf } from './check.js';

/** Default limit of one check (of each stage, for checks with several), milliseconds. */
export const defaultCheckTimeoutMs = 5_000;

export interface RunChecksOptions {
  /** Per-check limit in milliseconds (per stage for checks with `stages`); default 5 s. */
  timeoutMs?: number;
}

/**
 * Runs every check at once (they are independent: none depends on another's result or state)
 * and returns the results in the order given. A check never throws out of here: an exception is
 * a `fail` with its message, and a check still running at its limit is a `fail` that says so,
 * its signal aborted so that sockets and timers it holds are released.
 */
export async function runChecks(
  checks: readonly Check[],
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? defaultCheckTimeoutMs;
  return Promise.all(
    checks.map(async (check) => {
      const outcome = await runOne(check, timeoutMs);
      return { id: check.id, title: check.title, ...outcome };
    }),
  );
}

async function runOne(check: Check, timeoutMs: number): Promise<CheckOutcome> {
  const controller = new AbortController();
  // Checks that time their own stages report which one ran out; this outer limit (with a little
  // slack for them to do so) catches everything else.
  const limitMs = timeoutMs * (check.stages ?? 1) + Math.min(250, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${limitMs} ms`));
      resolve({ status: 'fail', detail: `timed out after ${limitMs} ms` });
    }, limitMs);
  });
  try {
    return await Promise.race([
      // `then` also catches a check that throws before returning its promise.
      Promise.resolve()
        .then(() => check.run({ signal: controller.signal, timeoutMs }))
        .catch((error: unknown): CheckOutcome => ({
          status: 'fail',
          detail: `unexpected error: ${messageOf(error)}`,
        })),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** True when no check failed (warnings and skips do not fail the preflight). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((result) => result.status !== 'fail');
}
