import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once this request's access line is written. */
    accessLogged: boolean;
  }
}

/**
 * One access line per request (`"msg":"request"`), written when the response has gone out. A
 * response whose client already left never finishes, and Fastify runs no `onResponse` hook for
 * it: its line is written when its reply is handed over instead (`onSend`), with the status
 * recorded for it (499, `client_closed_request`, when the work was cut short by the client).
 *
 * The line has a fixed shape with no secret in it, so it skips the redaction pass, which walked
 * every key of every line for the wildcard paths (a tenth of a gateway request's CPU went to
 * logging). Other lines keep it.
 */
export function registerAccessLog(app: FastifyInstance, logger: Logger): void {
  const accessLog = logger.child({}, { redact: [] });
  const write = (request: FastifyRequest, reply: FastifyReply): void => {
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
      },
      'request',
    );
  };
  app.decorateRequest('accessLogged', false);
  // Callback-style hooks: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.raw.destroyed) write(request, reply);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    write(request, reply);
    done();
  });
}
