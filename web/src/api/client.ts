import { ApiError, errorFromResponse } from './api-error';
import { type SendOptions, send } from './http';
import { fetchSession } from './session';
import type { Session } from './types';

/** What the API client needs from the signed-in page. */
export interface ApiClientOptions {
  session: Session;
  /** Called on any 401: the session ended (expired, revoked, signed out in another tab). */
  onUnauthorized: (error: ApiError) => void;
  /** Called when the CSRF token had to be fetched again (another tab signed in anew). */
  onSessionRenewed: (session: Session) => void;
}

export type RequestOptions = Omit<SendOptions, 'csrfToken'>;

/** Authenticated calls for the signed-in page: cookie, CSRF header, 401 handling. */
export interface ApiClient {
  /** Resolves with a 2xx response; rejects with an ApiError otherwise. */
  request(path: string, options?: RequestOptions): Promise<Response>;
  json(path: string, options?: RequestOptions): Promise<unknown>;
  /** The current CSRF token (it changes when another tab signs in anew). */
  csrfToken(): string;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  let csrfToken = options.session.csrf_token;
  const principal = options.session.principal;

  async function request(path: string, request: RequestOptions = {}): Promise<Response> {
    let response = await send(path, { ...request, csrfToken });
    if (response.status === 403 && (request.method ?? 'GET') !== 'GET') {
      const renewed = await renewAfterCsrfFailure(response.clone());
      if (renewed) response = await send(path, { ...request, csrfToken });
    }
    if (response.ok) return response;
    const error = await errorFromResponse(response);
    if (response.status === 401) options.onUnauthorized(error);
    throw error;
  }

  /**
   * Signing in again in another tab replaces the cookie and with it the CSRF token, so a
   * `csrf_failed` is answered once by asking the server for the current session. Only a new
   * session of the same principal renews: a write this page's user made is never sent again as
   * someone else (another tab signed in as another principal); this page's session has ended.
   */
  async function renewAfterCsrfFailure(response: Response): Promise<boolean> {
    const error = await errorFromResponse(response);
    if (error.code !== 'csrf_failed') return false;
    try {
      const session = await fetchSession();
      if (session.csrf_token === csrfToken) return false;
      if (session.principal !== principal) {
        options.onUnauthorized(
          new ApiError(
            // U+2068/U+2069 isolate each name, as <bdi> does in markup.
            `Another tab signed in as \u2068${session.principal}\u2069; this page was signed in as \u2068${principal}\u2069. Nothing was sent.`,
            { status: 401, code: 'session_replaced' },
          ),
        );
        return false;
      }
      csrfToken = session.csrf_token;
      options.onSessionRenewed(session);
      return true;
    } catch (sessionError) {
      if (sessionError instanceof ApiError && sessionError.status === 401) {
        options.onUnauthorized(sessionError);
      }
      return false;
    }
  }

  return {
    request,
    csrfToken: () => csrfToken,
    async json(path, requestOptions) {
      const response = await request(path, requestOptions);
      return (await response.json()) as unknown;
    },
  };
}
