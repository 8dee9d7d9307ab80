import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody } from '../../errors.js';
import type { AuditLog } from '../../security/audit/audit-log.js';
import { actionFor } from '../../security/policy/route-actions.js';
import { withoutTokenSecrets } from '../../security/tokens.js';
import { StoreUnavailableError } from '../../storage/errors.js';
import type { AuditDetailValue, AuditEntry } from '../../storage/types.js';
import type { Clock } from '../../util/ids.js';
import type { Abandoned } from './access-log.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once this request's audit record was queued. */
    auditQueued: boolean;
    /**
     * Facts for the record's `details` (how a console session was opened or closed, that the
     * session cookie authenticated); never a token or message content. Null: none.
     */
    auditDetails: Readonly<Record<string, AuditDetailValue>> | null;
  }
}

/**
 * Adds facts to the request's audit record, keeping those already there (the session cookie's
 * `credential`, set by authentication, stays beside what the route adds).
 */
export function addAuditDetails(
  request: FastifyRequest,
  details: Readonly<Record<string, AuditDetailValue>>,
): void {
  request.auditDetails = { ...request.auditDetails, ...details };
}

/**
 * One audit record per request, authenticated or not: allowed, denied (403), unauthenticated
 * (401, thrown by the auth `onRequest` hook), unknown routes (404) and every other error. Public
 * routes (health, readiness, JWKS) are not recorded: probes call them every few seconds, and
 * they carry no principal and no data.
 *
 * The record is queued in `onSend`, which every reply passes (errors included) once its status
 * is final and before anything is written to the socket, and the hook waits until the record's
 * transaction has committed (group commit, see AuditLog). When it cannot be written the reply is
 * replaced by 503 `audit_unavailable` (fail closed). A stream is recorded as its headers leave
 * (status 200, latency to the headers); how it ends is not part of the record.
 *
 * Register after the error handler and before the guard and auth plugins, so that a log known
 * to be broken refuses requests before any of their work is done.
 */
export function registerAudit(app: FastifyInstance, audit: AuditLog, clock: Clock): Abandoned {
  if (!audit.enabled) {
    // Off (benchmarks): no record, but replies still leave when the turn's commit would have.
    app.addHook('onSend', (_request, _reply, payload, done) => {
      void audit.endOfTurn().then(() => done(null, payload));
    });
    return () => undefined;
  }
  app.decorateRequest('auditQueued', false);
  app.decorateRequest('auditDetails', null);

  // Callback-style hooks: these run on every request, and an async function costs a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!audit.writable && request.routeOptions.config.public !== true) {
      done(new AppError('audit_unavailable'));
      return;
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.auditQueued || request.routeOptions.config.public === true) {
      done(null, payload);
      return;
    }
    request.auditQueued = true;
    audit.append(httpEntry(request, reply, payload, clock())).then(
      () => done(null, payload),
      // AuditLog counted and logged the failure.
      (error: unknown) => done(null, refuse(request, reply, payload, error)),
    );
  });

  // A reply that skipped onSend is still recorded, though too late to be refused.
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.auditQueued && request.routeOptions.config.public !== true) {
      request.auditQueued = true;
      audit.record(httpEntry(request, reply, undefined, clock()));
    }
    done();
  });

  // A client that left before any reply was handed over (while its request waited for its body,
  // authentication or the rate limiter) is recorded as leaving: such a request may never reach
  // another hook (the lifecycle calls this when its connection closes).
  return (request, reply) => {
    if (request.auditQueued || request.routeOptions.config.public === true) return;
    request.auditQueued = true;
    audit.record({
      ...httpEntry(request, reply, undefined, clock()),
      status: 499,
      error: 'client_closed_request',
    });
  };
}

/**
 * Replaces a reply whose record could not be written by 503 `audit_unavailable`, or by
 * `store_unavailable` when the database itself is down (the audit log lives in it, and that is
 * what the caller should hear about).
 */
function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  failure: unknown,
): string {
  const storeDown = (failure as { cause?: unknown }).cause instanceof StoreUnavailableError;
  const error = new AppError(storeDown ? 'store_unavailable' : 'audit_unavailable');
  if (isStream(payload)) payload.destroy();
  request.work.abort(error);
  void reply
    .code(error.status)
    .header('content-type', 'application/json; charset=utf-8')
    .removeHeader('content-length');
  return JSON.stringify(errorBody(error));
}

function isStream(payload: unknown): payload is { destroy(): void; pipe: unknown } {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { pipe?: unknown }).pipe === 'function' &&
    typeof (payload as { destroy?: unknown }).destroy === 'function'
  );
}

/** What the record of one HTTP request holds; never its body, its tokens or its query string. */
export function httpEntry(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  at: number,
): AuditEntry {
  const route = request.routeOptions.url;
  // The auth hook looked it up already for most requests.
  const target =
    request.target ??
    (route === undefined
      ? undefined
      : actionFor(request.method, route, request.params as Record<string, unknown>));
  const { principal, decision } = request;
  const statement = decision?.statement;
  return {
    at,
    source: 'http',
    requestId: request.id,
    principal: clip(principal?.name, 256),
    auth: principal?.method ?? null,
    // Undefined once the client reset its connection (the socket has no address any more).
    ip: request.ip ?? null,
    userAgent: clip(request.headers['user-agent'], 256),
    method: request.method,
    action: target?.action ?? null,
    // Without a route: the path as asked, without the query string (which may hold secrets).
    // A token pasted into the path (`DELETE /admin/tokens/asd_…`) is kept without its secret.
    resource: withoutTokenSecrets(target?.resource ?? request.url.split('?', 1)[0]!.slice(0, 512)),
    decision: decision?.reason ?? null,
    statement: statement ? `${statement.name} (${statement.source}:${statement.line})` : null,
    status: reply.statusCode,
    error: errorCodeOf(reply.statusCode, payload),
    latencyMs: Math.round(reply.elapsedTime * 100) / 100,
    details: request.auditDetails ?? null,
  };
}

/** The registered error code of an error reply (the error handler wrote it into the body). */
function errorCodeOf(status: number, payload: unknown): string | null {
  if (status < 400 || typeof payload !== 'string' || payload.length > 16_384) return null;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && code.length <= 64 ? code : null;
  } catch {
    return null;
  }
}

function clip(text: string | undefined, max: number): string | null {
  if (text === undefined) return null;
  return text.length <= max ? text : text.slice(0, max);
}
