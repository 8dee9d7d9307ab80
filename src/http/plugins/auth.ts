import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../security/authenticator.js';
import type { Principal } from '../../security/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Serve without a bearer token (health, readiness and the JWKS only). */
    public?: boolean;
  }
}

/** Every route needs `Authorization: Bearer <token>` unless its config says `public: true`. */
export function registerAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return;
    request.principal = await authenticator.verify(request.headers.authorization);
  });
}

/** The authenticated caller; routes only run after the auth hook set it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}
