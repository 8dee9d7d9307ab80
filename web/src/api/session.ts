import { ApiError, errorFromResponse, isRecord } from './api-error';
import { send } from './http';
import type { Session } from './types';

/** The session the cookie holds; rejects with the server's 401 error when there is none. */
export async function fetchSession(): Promise<Session> {
  const response = await send('/console/session');
  if (!response.ok) throw await errorFromResponse(response);
  return readSession(await response.json());
}

/** Trades a bearer token for the session cookie. The token is not kept anywhere in the page. */
export async function signIn(token: string): Promise<Session> {
  const response = await send('/console/session', { method: 'POST', body: { token } });
  if (!response.ok) throw await errorFromResponse(response);
  return readSession(await response.json());
}

export async function signOut(csrfToken: string): Promise<void> {
  const response = await send('/console/session', { method: 'DELETE', csrfToken });
  // A session that already ended is as signed out as it gets.
  if (!response.ok && response.status !== 401) throw await errorFromResponse(response);
}

/** Without a CSRF token no write would work, so a body lacking one is an error now, not later. */
export function readSession(body: unknown): Session {
  if (
    !isRecord(body) ||
    typeof body.principal !== 'string' ||
    typeof body.csrf_token !== 'string' ||
    body.csrf_token === ''
  ) {
    throw new ApiError('The server sent a session this console does not understand.', {
      status: 200,
      code: 'bad_session_response',
    });
  }
  const groups = Array.isArray(body.groups)
    ? body.groups.filter((group): group is string => typeof group === 'string')
    : [];
  const expiresAt = body.expires_at;
  return {
    principal: body.principal,
    groups,
    admin: body.admin === true,
    csrf_token: body.csrf_token,
    expires_at: typeof expiresAt === 'number' || typeof expiresAt === 'string' ? expiresAt : null,
  };
}
