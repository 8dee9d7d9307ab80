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
    const sharedState = sharedStateHealth(deps);
    const ready = store.ok && model.ok && (sharedState?.ok ?? true);
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      components: { store, model, ...(sharedState ? { shared_state: sharedState } : {}) },
    });
  });
}

/**
 * Redis, when replicas share state: down, the replica still serves from its own state, unless
 * `redis.rate_limit_on_failure` is `closed`, which refuses every request (503
 * rate_limit_unavailable): then it is not ready either. Undefined without `redis.url`.
 */
function sharedStateHealth(deps: AppDeps): { ok: boolean; reason?: string } | undefined {
  if (deps.redis === undefined) return undefined;
  if (deps.redis.up) return { ok: true };
  const closed = deps.config.redis.rate_limit_on_failure === 'closed';
  return closed
    ? {
        ok: false,
        reason:
          'Redis does not answer and redis.rate_limit_on_failure is closed: requests are refused',
      }
    : { ok: true, reason: 'Redis does not answer: this replica serves from its own state' };
}
