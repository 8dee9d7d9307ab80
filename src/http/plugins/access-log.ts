import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once this request's access line is written. */
    accessLogged: boolean;
    /** Set once its reply reached `onSend` (handed over for sending). */
    handedOver: boolean;
  }
}

/** Writes the line of a request whose client left before any reply was handed over. */
export type Abandoned = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * One access line per request (`"msg":"request"`), written when the response has gone out
 * (`onResponse`). Fastify runs no `onResponse` hook for a response that never finishes because
 * its client left, so:
 * - a reply whose client was already gone when it was handed over (`onSend`; the status is then
 *   499, `client_closed_request`) is logged there;
 * - a stream cut short on the client's side (it closed the connection, or stopped reading and
 *   was disconnected: http/sse.ts) is logged when its connection closes, with
 *   `client_closed: true` beside the status already sent;
 * - a request whose client left before any reply was handed over (while it waited for its
 *   body, authentication or the rate limiter: such a request may never reach a hook again) is
 *   logged as 499 with `client_closed: true` when its connection closes (`abandoned`, called
 *   by the lifecycle).
 *
 * The line has a fixed shape with no secret in it, so it skips the redaction pass, which walked
 * every key of every line for the wildcard paths (a tenth of a gateway request's CPU went to
 * logging). Other lines keep it.
 */
export function registerAccessLog(app: FastifyInstance, logger: Logger): Abandoned {
  const accessLog = logger.child({}, { redact: [] });
  const write = (
    request: FastifyRequest,
    reply: FastifyReply,
    clientClosed?: true,
    status = reply.statusCode,
  ): void => {
    if (request.accessLogged) return;
    request.accessLogged = true;
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        principal: request.principal?.name,
        client_closed: clientClosed,
      },
      'request',
    );
  };
  app.decorateRequest('accessLogged', false);
  app.decorateRequest('handedOver', false);
  // Callback-style hooks: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    request.handedOver = true;
    if (reply.raw.destroyed) {
      write(request, reply);
    } else if (typeof (payload as { pipe?: unknown } | null)?.pipe === 'function') {
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) write(request, reply, true);
      });
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    write(request, reply);
    done();
  });
  return (request, reply) => {
    if (!request.handedOver) write(request, reply, true, 499);
  };
}
