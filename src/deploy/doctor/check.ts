/** How one check came out. `skip` carries the reason in `detail` ("no database configured"). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One line of the doctor's report, also one element of `--json`'s `checks`. */
export interface CheckResult {
  /** Stable, kebab-case (`port-free`): scripts match on it, so it never changes with wording. */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: CheckStatus;
  /** What was found: the value measured, the problem and its fix, or why it was skipped. */
  detail: string;
}

export type CheckOutcome = Pick<CheckResult, 'status' | 'detail'>;

/** One preflight check. Reads only; the write probes delete what they wrote. */
export interface Check {
  id: string;
  title: string;
  /**
   * How many timeouts the check may take in all (default 1): the endpoint check has a connect,
   * a TLS and an HTTP stage, each allowed the full timeout, so it gets 3.
   */
  stages?: number;
  /**
   * Runs the check. `signal` aborts when the runner gives up on it; `timeoutMs` is the per-stage
   * limit, for checks that time their own stages and name the one that ran out.
   */
  run(context: { signal: AbortSignal; timeoutMs: number }): Promise<CheckOutcome>;
}

export const pass = (detail: string): CheckOutcome => ({ status: 'pass', detail });
export const warn = (detail: string): CheckOutcome => ({ status: 'warn', detail });
export const fail = (detail: string): CheckOutcome => ({ status: 'fail', detail });
export const skip = (detail: string): CheckOutcome => ({ status: 'skip', detail });

/** The message of anything thrown, for a detail line. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(messageOf).join('; ');
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return error.message !== '' ? error.message : (code ?? error.name);
  }
  return String(error);
}
