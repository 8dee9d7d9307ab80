import { AppError } from '../errors.js';
import { retryAfterHeader } from '../util/retry-after.js';

/** How a call to a model failed. */
export type ProviderFailure =
  | 'http' // the endpoint answered with a non-2xx status
  | 'connect' // no connection could be made
  | 'reset' // the connection broke off (reset or closed) before the answer was whole
  | 'timeout' // connect, first-byte or idle timeout
  | 'malformed' // the endpoint answered something that is not the expected format
  | 'aborted'; // the caller aborted (client disconnect, shutdown)

export interface ProviderErrorInit {
  failure: ProviderFailure;
  message: string;
  status?: number | undefined;
  /** The endpoint's error body, truncated; for the log, never for the client. */
  body?: string | undefined;
  /** From a Retry-After header, in milliseconds. */
  retryAfterMs?: number | undefined;
  /** Message the endpoint gave for a request it rejected, safe to show the caller. */
  upstreamMessage?: string | undefined;
  cause?: unknown;
}

const retryableStatuses = new Set([408, 409, 429]);

/**
 * A failed model call, as data: the retry logic reads only `isRetryable` and `retryAfterMs`,
 * and `toAppError()` decides what the client sees.
 */
export class ProviderError extends Error {
  readonly failure: ProviderFailure;
  readonly status: number | undefined;
  readonly body: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly upstreamMessage: string | undefined;
  readonly isRetryable: boolean;

  constructor(init: ProviderErrorInit) {
    super(init.message, { cause: init.cause });
    this.name = 'ProviderError';
    this.failure = init.failure;
    this.status = init.status;
    this.body = init.body;
    this.retryAfterMs = init.retryAfterMs;
    this.upstreamMessage = init.upstreamMessage;
    this.isRetryable =
      init.failure === 'connect' ||
      init.failure === 'reset' ||
      init.failure === 'timeout' ||
      (init.failure === 'http' &&
        init.status !== undefined &&
        (retryableStatuses.has(init.status) || init.status >= 500));
  }

  toAppError(): AppError {
    switch (this.failure) {
      case 'timeout':
        return new AppError('upstream_timeout', undefined, { cause: this });
      case 'malformed':
        return new AppError('upstream_bad_response', undefined, { cause: this });
      case 'aborted':
        return this.cause instanceof AppError
          ? this.cause
          : new AppError('upstream_error', 'The model call was aborted.', { cause: this });
      case 'connect':
        return new AppError('upstream_error', 'Could not connect to the model endpoint.', {
          cause: this,
        });
      case 'reset':
        return new AppError(
          'upstream_error',
          'The connection to the model endpoint broke off before its answer was whole.',
          { cause: this },
        );
      case 'http':
        return this.httpAppError();
    }
  }

  private httpAppError(): AppError {
    const status = this.status ?? 0;
    // The endpoint's Retry-After goes on to the client (a 429's or a 5xx's): it was too long to
    // wait for here, or the retries ran out.
    const headers = this.retryAfterMs === undefined ? {} : retryAfterHeader(this.retryAfterMs);
    if (status === 429) {
      return new AppError('upstream_rate_limited', undefined, { headers, cause: this });
    }
    if (status === 401 || status === 403) {
      return new AppError('upstream_auth_failed', undefined, { cause: this });
    }
    if (status === 400 || status === 413 || status === 422) {
      const detail = this.upstreamMessage === undefined ? '' : `: ${this.upstreamMessage}`;
      return new AppError(
        'upstream_rejected_request',
        `The model endpoint rejected the request${detail}`,
        { cause: this },
      );
    }
    return new AppError('upstream_error', `The model endpoint answered HTTP ${status}.`, {
      ...(status >= 500 ? { headers } : {}),
      cause: this,
    });
  }
}

/**
 * A model call the caller aborted (client gone, shutdown): the signal's reason, such as
 * `client_closed_request` or `shutting_down`, is what the client's request is recorded with,
 * not the failure in flight when it came. A reason that is itself a model failure (the call's
 * overall deadline, call-deadline.ts) is that failure.
 */
export function abortedCall(
  signal: AbortSignal,
  inFlight: unknown,
  message: string,
): ProviderError {
  if (signal.reason instanceof ProviderError) return signal.reason;
  return new ProviderError({ failure: 'aborted', message, cause: signal.reason ?? inFlight });
}
