import { isAbortError, networkError } from './api-error';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One request to the console's own origin. */
export interface SendOptions {
  method?: HttpMethod;
  /** Serialised as JSON. */
  body?: unknown;
  /** Sent as `x-csrf-token` when the method is not GET; the server refuses writes without it. */
  csrfToken?: string | undefined;
  signal?: AbortSignal | undefined;
  accept?: string;
}

/**
 * `fetch` with the session cookie and nothing cached. A failure to connect becomes an ApiError
 * with code `network_error`; an abort stays an AbortError so callers can tell "stopped" apart.
 */
export async function send(path: string, options: SendOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && options.csrfToken !== undefined) {
    headers['x-csrf-token'] = options.csrfToken;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal ?? null,
    });
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw networkError();
  }
}
