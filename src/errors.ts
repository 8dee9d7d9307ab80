/**
 * The error registry: every error the service returns is listed here with its HTTP status,
 * its OpenAI error `type` and a default message. Handlers throw `AppError(code)`; the HTTP error
 * handler turns it into `{ "error": { "message", "type", "code", "param" } }`.
 *
 * 5xx messages are written for the caller and never carry internal details: those go to the log.
 * The README lists every code (a test checks it).
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error';

interface ErrorSpec {
  readonly status: number;
  readonly type: ErrorType;
  readonly message: string;
}

export const errorCatalog = {
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request body is not valid JSON.',
  },
  invalid_request: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request is invalid.',
  },
  unsupported_content: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request contains content the selected model does not accept.',
  },
  unsupported_parameter: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request uses a parameter this server does not support.',
  },
  context_length_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    message: "The new messages alone do not fit in the model's context window.",
  },
  upstream_rejected_request: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The model endpoint rejected the request.',
  },
  client_closed_request: {
    // nginx's status for the same event. The client never reads this answer; the status is what
    // the metrics, the audit log and the access line record: the client left, nothing failed.
    status: 499,
    type: 'invalid_request_error',
    message: 'The client closed the connection before the answer was ready.',
  },
  missing_token: {
    status: 401,
    type: 'authentication_error',
    message: 'This endpoint needs an "Authorization: Bearer <token>" header.',
  },
  invalid_token: {
    status: 401,
    type: 'authentication_error',
    message: 'The bearer token is not valid.',
  },
  expired_token: {
    status: 401,
    type: 'authentication_error',
    message: 'The bearer token has expired; issue a new one with "assistd tokens issue".',
  },
  token_not_yet_valid: {
    status: 401,
    type: 'authentication_error',
    message: 'The token is not valid yet (its "nbf" is in the future).',
  },
  token_revoked: {
    status: 401,
    type: 'authentication_error',
    message: 'The token has been revoked.',
  },
  unknown_signing_key: {
    status: 401,
    type: 'authentication_error',
    message: 'The token was signed by a key this server does not know or no longer trusts.',
  },
  wrong_token_issuer: {
    status: 401,
    type: 'authentication_error',
    message: 'The token was issued by an issuer this server does not accept.',
  },
  wrong_token_audience: {
    status: 401,
    type: 'authentication_error',
    message: 'The token is meant for another audience.',
  },
  permission_denied: {
    status: 403,
    type: 'permission_error',
    message: 'No policy allows this request.',
  },
  csrf_failed: {
    status: 403,
    type: 'permission_error',
    message: "The request did not carry the console's CSRF token.",
  },
  route_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'No such route.',
  },
  conversation_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'No conversation with this id exists for the caller.',
  },
  console_not_built: {
    status: 404,
    type: 'not_found_error',
    message: 'The web console is not built: run npm run build.',
  },
  console_disabled: {
    status: 404,
    type: 'not_found_error',
    message: 'The web console is disabled on this server (console.enabled is false).',
  },
  model_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'No model with this id is configured; GET /v1/models lists the models.',
  },
  conversation_busy: {
    status: 409,
    type: 'conflict_error',
    message: 'Another turn of this conversation is still running; retry when it has finished.',
  },
  backup_running: {
    status: 409,
    type: 'conflict_error',
    message:
      'A backup is already running on this server; GET /admin/backups shows when it has finished.',
  },
  body_too_large: {
    status: 413,
    type: 'invalid_request_error',
    message: 'The request body is larger than the configured limit.',
  },
  path_too_long: {
    status: 414,
    type: 'invalid_request_error',
    message: 'A part of the request path is longer than this server accepts.',
  },
  invalid_path: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The request path is not valid (a malformed percent-encoding).',
  },
  malformed_http: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'The request is not well-formed HTTP/1.1 (its request line, a header, Content-Length or a chunk); the connection is closed.',
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    message:
      'The request headers or body did not arrive in time (limits.headers_timeout_seconds, limits.request_timeout_seconds); the connection is closed.',
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    message:
      'The request headers are larger than this server accepts (16 KiB); the connection is closed.',
  },
  upstream_rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    message: 'The model endpoint is rate limiting this server; retry later.',
  },
  rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    message: 'Too many requests or tokens for this principal; retry after the Retry-After delay.',
  },
  rate_limit_unavailable: {
    status: 503,
    type: 'server_error',
    message:
      'Rate limits cannot be checked (Redis is down and redis.rate_limit_on_failure is closed); retry shortly.',
  },
  auth_locked_out: {
    status: 429,
    type: 'rate_limit_error',
    message:
      'Too many failed authentications from this address; retry after the Retry-After delay.',
  },
  server_busy: {
    status: 429,
    type: 'rate_limit_error',
    message:
      'Every generation slot of the local model is busy and the wait queue is full; retry later.',
  },
  internal_error: {
    status: 500,
    type: 'server_error',
    message: 'The server hit an unexpected error; the request id identifies it in the logs.',
  },
  upstream_error: {
    status: 502,
    type: 'server_error',
    message: 'The model endpoint failed to answer.',
  },
  upstream_auth_failed: {
    status: 502,
    type: 'server_error',
    message: 'The model endpoint refused the configured API key; an operator must fix it.',
  },
  upstream_bad_response: {
    status: 502,
    type: 'server_error',
    message: 'The model endpoint sent a response this server could not understand.',
  },
  model_not_configured: {
    status: 503,
    type: 'server_error',
    message:
      'No model is configured. Start the server with --model-endpoint URL (and --api-key-file FILE) ' +
      'or set model_endpoint in the config file.',
  },
  model_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'The selected model cannot serve requests right now.',
  },
  model_loading: {
    status: 503,
    type: 'server_error',
    message: 'The local model is still loading; retry shortly.',
  },
  store_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'The conversation store is unavailable; retry shortly.',
  },
  backup_unavailable: {
    status: 503,
    type: 'server_error',
    message:
      'The backup repository (object_store) cannot be read right now; retry shortly. The server log has the reason.',
  },
  signing_key_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'No signing key can sign a token now; see "assistd keys list".',
  },
  audit_unavailable: {
    status: 503,
    type: 'server_error',
    message: 'The audit log cannot record this request, so it was refused; retry shortly.',
  },
  shutting_down: {
    status: 503,
    type: 'server_error',
    message: 'The server is shutting down; retry against another instance.',
  },
  upstream_timeout: {
    status: 504,
    type: 'server_error',
    message: 'The model endpoint did not answer in time.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalog;

export interface AppErrorOptions {
  /** The request field the error is about, as a dotted path (OpenAI's `param`). */
  param?: string;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error with a registered code. Its message is shown to the caller, so keep it free of secrets. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, options: AppErrorOptions = {}) {
    const spec: ErrorSpec = errorCatalog[code];
    super(message ?? spec.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.type = spec.type;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }
}

export interface ErrorBody {
  error: { message: string; type: ErrorType; code: ErrorCode; param: string | null };
}

/** The OpenAI-shaped body of an error. */
export function errorBody(error: AppError): ErrorBody {
  return {
    error: {
      message: error.message,
      type: error.type,
      code: error.code,
      param: error.param ?? null,
    },
  };
}
