import { setTimeout as sleep } from 'node:timers/promises';
import { abortedCall, ProviderError } from './provider-error.js';

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  /** Longest single wait; a Retry-After beyond it ends the retries. */
  maxDelayMs: number;
  /** Returns a number in [0, 1); injected so tests are deterministic. */
  random: () => number;
}

export interface RetryObserver {
  onRetry?(error: ProviderError, attempt: number, delayMs: number): void;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the retries run out.
 * Waits exponential backoff with full jitter, or exactly what Retry-After asks for.
 * Only `ProviderError.isRetryable` decides whether to retry.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  observer: RetryObserver = {},
): Promise<T> {
  for (let attemptNumber = 0; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (!(error instanceof ProviderError) || !error.isRetryable) throw error;
      if (signal.aborted) throw abortedWhileWaiting(signal, error);
      if (attemptNumber >= policy.maxRetries) throw error;
      const delayMs = retryDelay(error, attemptNumber, policy);
      if (delayMs === undefined) throw error;
      observer.onRetry?.(error, attemptNumber + 1, delayMs);
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        throw abortedWhileWaiting(signal, error);
      }
    }
  }
}

/** Aborted while a retry waited: recorded as the abort (499), not as the failure retried. */
function abortedWhileWaiting(signal: AbortSignal, retried: ProviderError): ProviderError {
  return abortedCall(
    signal,
    retried,
    `model call aborted while a retry waited (after: ${retried.message})`,
  );
}

function retryDelay(error: ProviderError, attemptNumber: number, policy: RetryPolicy) {
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs > policy.maxDelayMs ? undefined : error.retryAfterMs;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attemptNumber);
  return Math.floor(ceiling * policy.random());
}
