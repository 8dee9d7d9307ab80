/** Options of an {@link ApiError}. */
export interface ApiErrorDetails {
  /** The HTTP status; 0 when no response arrived (network failure). */
  status: number;
  /** The server's error code (`rate_limited`, `token_revoked`…), or one of the console's own. */
  code: string;
  /** Seconds from `Retry-After`, when the server sent one. */
  retryAfterSeconds?: number | undefined;
  /** The request field the error is about (`principal`, `ttl`…), when the server names one. */
  param?: string | undefined;
}

/** A failed API call: the server's OpenAI-shaped error, or a failure to reach the server at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  readonly param: string | undefined;

  constructor(message: string, details: ApiErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.status = details.status;
    this.code = details.code;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.param = details.param;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads `{error: {message, code, param?}}`. Anything else (a proxy's HTML page, an empty body) still gives
 * an error that names the status, so the user sees something true rather than a parse failure.
 */
export function errorFromBody(body: unknown, status: number, retryAfterSeconds?: number): ApiError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message =
    typeof error?.message === 'string' && error.message !== ''
      ? error.message
      : `The server answered HTTP ${status}.`;
  const param = typeof error?.param === 'string' && error.param !== '' ? error.param : undefined;
  return new ApiError(message, { status, code, retryAfterSeconds, param });
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), Date.now());
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return errorFromBody(body, response.status, retryAfterSeconds);
}

export function networkError(): ApiError {
  return new ApiError('The server could not be reached.', { status: 0, code: 'network_error' });
}

/** `Retry-After` is either delay seconds or an HTTP date; both become whole seconds from now. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** An aborted fetch or read rejects with a DOMException named AbortError. */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
