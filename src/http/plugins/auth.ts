import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import type { Authenticator } from '../../security/authenticator.js';
import type { Decision } from '../../security/policy/evaluate.js';
import type { PolicySet } from '../../security/policy/policy-set.js';
import { actionFor, type RouteAction } from '../../security/policy/route-actions.js';
import type { Principal } from '../../security/tokens.js';
import { csrfHeaderName, csrfMatches, fromCookie, needsCsrf } from '../session-cookie.js';
import type { AfterAuth } from './guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    /** The policy decision that let this request through (for the audit log). */
    decision: Decision | undefined;
    /** The route's action and resource, once the auth hook looked them up (audit log). */
    target: RouteAction | undefined;
  }
  interface FastifyContextConfig {
    /**
     * Serve without a bearer token: health, readiness, the JWKS and the console's static files.
     * Public routes are not audited and not subject to the failed-authentication lockout.
     */
    public?: boolean;
    /**
     * The handler authenticates the caller itself (the console's session routes: a token in the
     * body, or the session cookie). The auth hook skips the route and no policy applies, but
     * unlike a public route it is audited, locked out and refused while draining.
     */
    ownAuthentication?: boolean;
    /** Signing out (DELETE /console/session): never refused by the address lockout. */
    signOut?: boolean;
    /** It asks a model for an answer: the principal's token budget applies (guard.ts). */
    spendsTokens?: boolean;
  }
}

/** How the auth hook treats the console's session cookie. */
export interface SessionAuthOptions {
  /** Whether cleared cookies carry `Secure` (TLS here or at a proxy). */
  secure: boolean;
}

/**
 * Every route needs `Authorization: Bearer <token>` unless its config says `public: true`, and
 * then a policy that allows its action on its resource (route-actions.ts maps each route).
 * Fails closed: a route missing from the action table is refused, not waved through.
 *
 * Without an `Authorization` header, the console's session cookie (session-cookie.ts) is the
 * credential when `sessions` is given; a write made with it must carry the CSRF token. With the
 * header the cookie is never looked at, so API clients pay nothing for it.
 */
export function registerAuth(
  app: FastifyInstance,
  authenticator: Authenticator,
  policies: PolicySet,
  /** Runs once the caller is known and allowed (rate limits). */
  afterAuth: AfterAuth = () => undefined,
  /** Accept the console's session cookie; absent: bearer tokens only (console disabled). */
  sessions?: SessionAuthOptions,
): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('decision', undefined);
  app.decorateRequest('target', undefined);

  /** Policy and rate limits for an authenticated caller; throws the refusal. */
  const authorize = (request: FastifyRequest, principal: Principal): void | Promise<void> => {
    request.principal = principal;
    const route = request.routeOptions.url;
    // No route matched: the not-found handler answers 404 (after authentication, so unknown
    // paths cannot be probed anonymously).
    if (route === undefined) return;
    const target = actionFor(request.method, route, request.params as Record<string, unknown>);
    if (!target) {
      request.log.error({ route, method: request.method }, 'route missing from the action table');
      throw new AppError('permission_denied');
    }
    request.target = target;
    const decision = policies.evaluate({
      principal: { subject: principal.name, groups: principal.groups },
      action: target.action,
      resource: target.resource,
    });
    request.decision = decision;
    if (!decision.allowed) {
      throw new AppError(
        'permission_denied',
        decision.reason === 'explicit-deny'
          ? `A policy denies ${target.action} on ${target.resource}.`
          : `No policy allows ${target.action} on ${target.resource}.`,
      );
    }
    return afterAuth(request);
  };

  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const authorization = request.headers.authorization;
    const principal =
      authorization !== undefined || sessions === undefined
        ? await authenticator.verify(authorization)
        : await verifySession(request, reply, authenticator, sessions);
    await authorize(request, principal);
  };

  // A callback hook: a token seen before is accepted without a promise (verifiedNow), and this
  // runs on every request.
  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config;
    if (config.public === true || config.ownAuthentication === true) {
      done();
      return;
    }
    finish(done, () => {
      const known = authenticator.verifiedNow(request.headers.authorization);
      return known ? authorize(request, known) : authenticate(request, reply);
    });
  });
}

/**
 * Runs a callback hook's work and calls `done` once: at once when the work finished without a
 * promise, when the promise settles otherwise; a throw or a rejection is the hook's error.
 */
function finish(done: (error?: FastifyError) => void, work: () => void | Promise<void>): void {
  let pending: void | Promise<void>;
  try {
    pending = work();
  } catch (error) {
    done(error as FastifyError);
    return;
  }
  if (pending) pending.then(() => done(), done);
  else done();
}

/**
 * Authenticates a request by its session cookie (missing_token without one). A cookie that fails
 * is cleared, so a browser does not keep sending an expired or revoked token; a write without
 * the cookie's CSRF token is refused with 403 `csrf_failed`.
 */
async function verifySession(
  request: FastifyRequest,
  reply: FastifyReply,
  authenticator: Authenticator,
  sessions: SessionAuthOptions,
): Promise<Principal> {
  const { principal, token } = await fromCookie(request, reply, authenticator, sessions.secure);
  request.auditDetails = { credential: 'session-cookie' };
  if (needsCsrf(request.method) && !csrfMatches(token, request.headers[csrfHeaderName])) {
    // Recorded with the principal: a refused write names whose browser was used.
    request.principal = principal;
    throw new AppError('csrf_failed');
  }
  return principal;
}

/**
 * Benchmarks only (`StartServerOptions.accessControl: 'off'`): no authentication and no policy
 * check; every request runs as `principal`. The rate limits still apply. Not reachable from the
 * command line, the environment or a config file.
 */
export function registerOpenAccess(
  app: FastifyInstance,
  principal: Principal,
  afterAuth: AfterAuth,
): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('decision', undefined);
  app.decorateRequest('target', undefined);
  // A callback hook, as registerAuth's.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.config.public === true) {
      done();
      return;
    }
    request.principal = principal;
    finish(done, () => afterAuth(request));
  });
}

/** The authenticated caller; routes only run after the auth hook set it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}
