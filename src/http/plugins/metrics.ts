import type { FastifyInstance } from 'fastify';
import type { Monitor } from '../../monitor/monitor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once this request was counted. */
    measured: boolean;
  }
}

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts every request and its latency into the Prometheus metrics and the time series. Latency is
 * the time until the response headers leave (`onSend`): for a non-streamed answer that is nearly
 * all of it; for a stream it is the time to its first event, since assistd pulls the first part
 * before it answers. (The whole model call, streams included, is `assistd_upstream_…`.) Public
 * routes (health, readiness, JWKS) are counted too; they are cheap and show probe traffic.
 *
 * Register after the audit plugin, so the latency includes the wait for the audit commit.
 */
export function registerMetrics(app: FastifyInstance, monitor: Monitor): void {
  app.decorateRequest('measured', false);
  // Callback-style: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.measured) {
      request.measured = true;
      const route = request.routeOptions.url ?? 'unmatched';
      const method = methods.has(request.method) ? request.method : 'OTHER';
      monitor.observeRequest(route, method, reply.statusCode, reply.elapsedTime);
    }
    done(null, payload);
  });
}
