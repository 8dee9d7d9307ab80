import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';

const readinessTimeoutMs = 5_000;

/**
 * `/health` says the process serves HTTP; `/ready` says it can serve chats right now; the JWKS
 * publishes the public keys that verify this server's tokens (public keys only).
 */
export function healthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/health', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/.well-known/jwks.json', { config: { public: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return deps.keyring.jwks();
  });

  app.get('/ready', { config: { public: true } }, async (_request, reply) => {
    if (deps.lifecycle.draining) {
      return reply.status(503).send({ status: 'draining', components: {} });
    }
    const signal = AbortSignal.timeout(readinessTimeoutMs);
    const [store, model] = await Promise.all([
      deps.store.check().then(
        () => ({ ok: true as const }),
        () => ({ ok: false as const, reason: 'the conversation store does not answer' }),
      ),
      deps.models.check(signal),
    ]);
    const ready = store.ok && model.ok;
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not_ready', components: { store, model } });
  });
}
