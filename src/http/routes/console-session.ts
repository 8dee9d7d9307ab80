import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as z from '../../util/zod.js';
import { AppError } from '../../errors.js';
import type { Authenticator } from '../../security/authenticator.js';
import type { Principal } from '../../security/tokens.js';
import type { Clock } from '../../util/ids.js';
import type { AfterAuth } from '../plugins/guard.js';
import {
  clearedSessionCookie,
  csrfHeaderName,
  csrfMatches,
  csrfTokenFor,
  isCookieSafe,
  sessionCookie,
  sessionMaxAge,
  fromCookie,
} from '../session-cookie.js';
import { parseBody } from '../validate.js';

const createBodySchema = z.strictObject({
  token: z.string().trim().min(1, 'is required').max(16_384, 'is too long'),
});

export interface ConsoleSessionOptions {
  authenticator: Authenticator;
  clock: Clock;
  /** Cookies get `Secure` (TLS here, or `tls.terminated_by_proxy`). */
  secure: boolean;
  /** `console.enabled`: false answers 404 `console_disabled`. */
  enabled: boolean;
  /** The rate limits, charged once the caller is known (as for every authenticated route). */
  afterAuth: AfterAuth;
}

/** What the console learns about its session (never the token itself). */
interface SessionBody {
  principal: string;
  groups: readonly string[];
  admin: boolean;
  csrf_token: string;
  expires_at: string | null;
}

/**
 * The console's sign-in: `POST /console/session` exchanges a pasted bearer token for the
 * HttpOnly session cookie (session-cookie.ts), `GET` says who the cookie belongs to, `DELETE`
 * signs out. They authenticate in the handler (`ownAuthentication`): no policy applies, since
 * every caller may learn who they are and sign in or out, but each call is audited and failures
 * count towards the address's lockout like any failed authentication.
 */
export function consoleSessionRoutes(app: FastifyInstance, options: ConsoleSessionOptions): void {
  const { authenticator, clock, secure, enabled, afterAuth } = options;
  // One object per route: Fastify keeps each route's config as its own.
  const own = () => ({ config: { ownAuthentication: true } });

  app.post('/console/session', own(), async (request, reply) => {
    refuseWhenDisabled(enabled);
    // Login CSRF: another site must not sign the browser in with the attacker's token. Browsers
    // say where a request comes from; clients that do not (curl, scripts) are not browsers.
    if (request.headers['sec-fetch-site'] === 'cross-site') {
      throw new AppError('csrf_failed', "Sign-in is only accepted from the console's own page.");
    }
    const { token } = parseBody(createBodySchema, request.body);
    if (!isCookieSafe(token)) {
      throw new AppError('invalid_token', 'The token cannot be kept in a browser cookie.');
    }
    const principal = await authenticator.verifyToken(token);
    identify(request, principal);
    await admit(request, afterAuth);
    const maxAge = sessionMaxAge(principal.expiresAt, clock());
    reply.header('set-cookie', sessionCookie(token, maxAge, secure));
    return sessionBody(reply, principal, token);
  });

  app.get('/console/session', own(), async (request, reply) => {
    refuseWhenDisabled(enabled);
    const { principal, token } = await fromCookie(request, reply, authenticator, secure, {
      message: 'No console session: sign in with a token first.',
      clear: true,
    });
    identify(request, principal);
    await admit(request, afterAuth);
    return sessionBody(reply, principal, token);
  });

  app.delete('/console/session', own(), async (request, reply) => {
    refuseWhenDisabled(enabled);
    const { principal, token } = await fromCookie(request, reply, authenticator, secure, {
      message: 'No console session: sign in with a token first.',
      clear: true,
    });
    identify(request, principal);
    // Like every write made with the cookie: another site must not sign the user out.
    if (!csrfMatches(token, request.headers[csrfHeaderName])) throw new AppError('csrf_failed');
    await admit(request, afterAuth);
    return reply.status(204).header('set-cookie', clearedSessionCookie(secure)).send();
  });
}

function refuseWhenDisabled(enabled: boolean): void {
  if (!enabled) throw new AppError('console_disabled');
}

/** Who the request is, for the audit record: the principal and the token's id, never the token. */
function identify(request: FastifyRequest, principal: Principal): void {
  request.principal = principal;
  request.auditDetails = { token_id: principal.tokenId };
}

/** The rate limits, as the auth hook applies them to every authenticated route. */
async function admit(request: FastifyRequest, afterAuth: AfterAuth): Promise<void> {
  const limited = afterAuth(request);
  if (limited) await limited;
}

/** The session as the console sees it; never cached, since it holds the CSRF token. */
function sessionBody(reply: FastifyReply, principal: Principal, token: string): SessionBody {
  reply.header('cache-control', 'no-store');
  return {
    principal: principal.name,
    groups: principal.groups,
    admin: principal.admin,
    csrf_token: csrfTokenFor(token),
    expires_at:
      principal.expiresAt === undefined ? null : new Date(principal.expiresAt).toISOString(),
  };
}
