import { AppError } from '../errors.js';

/** How a call to a model failed. */
export type ProviderFailure =
  | 'http' // the endpoint answered with a non-2xx status
  | 'connect' // no connection, or it was reset
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
      case 'http':
        return this.httpAppError();
    }
  }

  private httpAppError(): AppError {
    const status = this.status ?? 0;
    if (status === 429) {
      const headers: Record<string, string> = {};
      if (this.retryAfterMs !== undefined) {
        headers['retry-after'] = String(Math.max(1, Math.ceil(this.retryAfterMs / 1000)));
      }
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
      cause: this,
    });
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
