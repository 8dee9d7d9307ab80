import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once this request's access line is written. */
    accessLogged: boolean;
  }
}

/**
 * One access line per request (`"msg":"request"`), written when the response has gone out
 * (`onResponse`). Fastify runs no `onResponse` hook for a response that never finishes because
 * its client left, so:
 * - a reply whose client was already gone when it was handed over (`onSend`; the status is then
 *   499, `client_closed_request`) is logged there;
 * - a stream cut short on the client's side (it closed the connection, or stopped reading and
 *   was disconnected: http/sse.ts) is logged when its connection closes, with
 *   `client_closed: true` beside the status already sent.
 *
 * The line has a fixed shape with no secret in it, so it skips the redaction pass, which walked
 * every key of every line for the wildcard paths (a tenth of a gateway request's CPU went to
 * logging). Other lines keep it.
 */
export function registerAccessLog(app: FastifyInstance, logger: Logger): void {
  const accessLog = logger.child({}, { redact: [] });
  const write = (request: FastifyRequest, reply: FastifyReply, clientClosed?: true): void => {
    if (request.accessLogged) return;
    request.accessLogged = true;
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        principal: request.principal?.name,
        client_closed: clientClosed,
      },
      'request',
    );
  };
  app.decorateRequest('accessLogged', false);
  // Callback-style hooks: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
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
}
