import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import type { Authenticator } from '../../security/authenticator.js';
import type { Decision } from '../../security/policy/evaluate.js';
import type { PolicySet } from '../../security/policy/policy-set.js';
import { actionFor } from '../../security/policy/route-actions.js';
import type { Principal } from '../../security/tokens.js';
import type { AfterAuth } from './guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    /** The policy decision that let this request through (for the audit log). */
    decision: Decision | undefined;
  }
  interface FastifyContextConfig {
    /** Serve without a bearer token (health, readiness and the JWKS only). */
    public?: boolean;
  }
}

/**
 * Every route needs `Authorization: Bearer <token>` unless its config says `public: true`, and
 * then a policy that allows its action on its resource (route-actions.ts maps each route).
 * Fails closed: a route missing from the action table is refused, not waved through.
 */
export function registerAuth(
  app: FastifyInstance,
  authenticator: Authenticator,
  policies: PolicySet,
  /** Runs once the caller is known and allowed (rate limits). */
  afterAuth: AfterAuth = () => undefined,
): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('decision', undefined);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return;
    const principal = await authenticator.verify(request.headers.authorization);
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
    const limited = afterAuth(request);
    if (limited) await limited;
  });
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
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public !== true) {
      request.principal = principal;
      const limited = afterAuth(request);
      if (limited) await limited;
    }
  });
}

/** The authenticated caller; routes only run after the auth hook set it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}
