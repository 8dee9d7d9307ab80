import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as z from '../../util/zod.js';
import { AppError } from '../../errors.js';
import type { Authenticator } from '../../security/authenticator.js';
import type { Principal } from '../../security/tokens.js';
import type { Clock } from '../../util/ids.js';
import type { AfterAuth } from '../plugins/guard.js';
import {
  clearedSessionCookie,
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
    refuseForeignSignIn(request);
    const { token } = parseBody(createBodySchema, request.body);
    if (!isCookieSafe(token)) {
      throw new AppError('invalid_token', 'The token cannot be kept in a browser cookie.');
    }
    const principal = await authenticator.verifyToken(token);
    identify(request, principal);
    await admit(request, afterAuth);
    const maxAge = sessionMaxAge(principal.expiresAt, clock());
    // The body first: the cookie is set only with an answer that can be sent.
    const body = sessionBody(reply, principal, token);
    reply.header('set-cookie', sessionCookie(token, maxAge, secure));
    return body;
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

  // Signing out always forgets the cookie: a browser must never stay signed in after its user
  // signed out, whatever else is wrong (the principal over its rate limit, the address locked
  // out, a CSRF token from before another tab signed in anew). So it takes no CSRF token and no
  // rate limit, and the lockout does not stop it (`signOut`); it can only end a session, which
  // SameSite=Strict keeps other sites from doing.
  app.delete(
    '/console/session',
    {
      config: { ownAuthentication: true, signOut: true },
      // Before the body is read: a body that is not JSON, or too large, still signs out.
      onRequest: (_request, reply, done) => {
        if (enabled) reply.header('set-cookie', clearedSessionCookie(secure));
        done();
      },
    },
    async (request, reply) => {
      refuseWhenDisabled(enabled);
      const { principal } = await fromCookie(request, reply, authenticator, secure, {
        message: 'No console session: sign in with a token first.',
        clear: true,
      });
      identify(request, principal);
      return reply.status(204).send();
    },
  );
}

/**
 * Login CSRF: another page must not sign the browser in with the attacker's token (the victim's
 * next messages would land in the attacker's conversations). The sign-in must be JSON, which no
 * form and no `no-cors` fetch can send, and a browser's request must come from this origin:
 * `Sec-Fetch-Site` same-origin (or none, typed in), and an `Origin` of this host when sent.
 * Another port or subdomain of the same site is another origin. Clients that send neither
 * header (curl, scripts) are not browsers.
 */
function refuseForeignSignIn(request: FastifyRequest): void {
  const refuse = () =>
    new AppError('csrf_failed', "Sign-in is only accepted from the console's own page.");
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw refuse();
  const origin = request.headers.origin;
  if (origin !== undefined && originHost(origin) !== request.host) throw refuse();
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new AppError(
      'invalid_request',
      'Sign-in takes a JSON body: send "Content-Type: application/json".',
    );
  }
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" (a sandboxed or opaque origin) and anything else unparsable
  }
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
