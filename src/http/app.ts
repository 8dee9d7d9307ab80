import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Logger } from 'pino';
import type { BackupRunner } from '../backup/runner.js';
import type { LogShipper } from '../backup/log-shipper.js';
import type { Config } from '../config/schema.js';
import type { ConversationCache } from '../dialog/context-cache.js';
import type { SharedRedis } from '../cache/redis.js';
import type { RateLimiter } from '../security/rate-limiter.js';
import type { DialogEngine } from '../dialog/engine.js';
import { AppError, errorBody } from '../errors.js';
import type { ModelRegistry } from '../providers/registry.js';
import type { Alerting } from '../monitor/alerts/index.js';
import type { Monitor } from '../monitor/monitor.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import type { Authenticator } from '../security/authenticator.js';
import type { Keyring } from '../security/keyring.js';
import type { TokenIssuer } from '../security/token-issuer.js';
import type { PolicySet } from '../security/policy/policy-set.js';
import type { TlsServerOptions } from '../security/tls.js';
import type { Principal } from '../security/tokens.js';
import type { ConversationStore, Store } from '../storage/types.js';
import type { Clock, IdGenerator } from '../util/ids.js';
import { clientErrorHandler } from './client-errors.js';
import type { Lifecycle } from './lifecycle.js';
import type { RequestWork } from '../util/request-work.js';
import { registerAccessLog, type Abandoned } from './plugins/access-log.js';
import { httpEntry, registerAudit } from './plugins/audit.js';
import { registerAuth, registerOpenAccess } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { registerGuard } from './plugins/guard.js';
import { registerMetrics } from './plugins/metrics.js';
import { alertRoutes } from './routes/admin/alerts.js';
import { auditRoutes } from './routes/admin/audit.js';
import { backupRoutes } from './routes/admin/backups.js';
import { keyRoutes } from './routes/admin/keys.js';
import { policySimulationRoutes } from './routes/admin/policy-simulation.js';
import { tokenRoutes } from './routes/admin/tokens.js';
import { chatRoutes } from './routes/chat.js';
import { consoleRoutes, defaultConsoleDir } from './routes/console.js';
import { consoleSessionRoutes } from './routes/console-session.js';
import { conversationRoutes } from './routes/conversations.js';
import { healthRoutes } from './routes/health.js';
import { prometheusRoute, seriesRoute } from './routes/metrics.js';
import { openaiRoutes } from './routes/openai.js';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  store: Store;
  models: ModelRegistry;
  engine: DialogEngine;
  cache: ConversationCache;
  /** The conversation store as routes write it (timed, shipped); `store.conversations` if absent. */
  conversations?: ConversationStore | undefined;
  /** Per-principal budgets (in Redis when replicas share them); in process when absent. */
  rateLimiter?: RateLimiter | undefined;
  /** Redis, when replicas share state (`redis.url`): `/ready` reports it. */
  redis?: Pick<SharedRedis, 'up'> | undefined;
  authenticator: Authenticator;
  keyring: Keyring;
  /** Issues and revokes tokens for `/admin/tokens`. */
  tokenIssuer: TokenIssuer;
  policies: PolicySet;
  clock: Clock;
  ids: IdGenerator;
  lifecycle: Lifecycle;
  /** The audit log every request is recorded in (plugins/audit.ts). */
  audit: AuditLog;
  /** Metrics and time series; absent when `metrics.enabled` is false. */
  monitor?: Monitor | undefined;
  /** The alert engine; absent when metrics or `alerts.enabled` are off. */
  alerting?: Alerting | undefined;
  /** Model backups by hand and their state (`/admin/backups`); absent: no backup routes. */
  backups?: BackupRunner | undefined;
  /** The conversation-log shipper's counters; absent when `log_shipping.enabled` is false. */
  logShipper?: Pick<LogShipper, 'shipped' | 'lastLagMs' | 'failures'> | undefined;
  /**
   * `'off'`: benchmarks measuring what authentication and policies cost; see
   * `StartServerOptions.accessControl`. Absent: enforced.
   */
  accessControl?: 'off';
  /** Serve HTTPS with these options (TLS 1.3 only, see security/tls.ts); absent: plain HTTP. */
  https?: TlsServerOptions;
  /**
   * The built web console (`index.html` and `assets/`). Absent: `dist/console/` beside the
   * compiled server (routes/console.ts).
   */
  consoleDir?: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Aborts the work behind this request (client gone, or shutdown with its reason). */
    work: RequestWork;
  }
}

/** A caller's request id is kept when it is short and plain; otherwise a new one is made. */
const requestIdPattern = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Who every request is when access control is off (benchmarks only). */
const openAccessPrincipal: Principal = {
  name: 'benchmark',
  groups: ['admin'],
  admin: true,
  tokenId: 'none',
  method: 'opaque',
};

/** Builds the HTTP application without listening (tests use `inject` or listen on port 0). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const bodyLimit = deps.config.limits.body_bytes;
  // Typed as Fastify's base logger so routes take the plain `FastifyInstance`.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const limits = deps.config.limits;
  // Slow clients: headers and the whole request must arrive in time (a sweep checks every second;
  // Node's default sweep, 30 s, would let a slow-loris client hold its connection that much longer).
  const requestTimeout = limits.request_timeout_seconds * 1000;
  const connectionOptions = {
    headersTimeout: Math.min(limits.headers_timeout_seconds * 1000, requestTimeout),
    requestTimeout,
    connectionsCheckingInterval: 1000,
  };
  const app = Fastify({
    loggerInstance,
    requestTimeout,
    keepAliveTimeout: limits.keep_alive_timeout_seconds * 1000,
    // Node's server options for plain HTTP (typed loosely: Fastify's overloads pick the HTTP/2
    // server type once `http` and `https` appear together).
    ...(deps.https ? {} : ({ http: connectionOptions } as object)),
    // One log line per request, written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    // null: plain HTTP.
    https: deps.https ? { ...deps.https, ...connectionOptions } : null,
    // What Node's HTTP parser refuses before any route runs: the same error shape as the rest.
    clientErrorHandler: clientErrorHandler(deps.https !== undefined, loggerInstance),
    // Errors the router raises before any route or hook runs: same shape as every other.
    // They skip every hook, the audit plugin's included, so they are recorded here.
    frameworkErrors: (error, request, reply) => {
      const code = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'path_too_long' : 'invalid_path';
      const appError = new AppError(code);
      const payload = JSON.stringify(errorBody(appError));
      void (reply as FastifyReply)
        .status(appError.status)
        .header('content-type', 'application/json; charset=utf-8')
        .send(payload);
      deps.audit.record(httpEntry(request, reply, payload, deps.clock()));
    },
    // Bodies are validated with zod (validate.ts) and answers serialised with JSON.stringify; no
    // route has a Fastify schema. Without this, Fastify loads Ajv (some 90 modules, a few MB of
    // heap) for schemas that do not exist; a schema added by mistake now fails at registration.
    schemaController: {
      compilersFactory: {
        buildValidator: () => () => {
          throw new Error('route schemas are not used here: validate bodies with http/validate.ts');
        },
        buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
      },
    },
    genReqId: (request) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
    },
  });

  // Beyond this many open connections, new ones are closed as they arrive (descriptors are finite).
  app.server.maxConnections = limits.max_connections;

  // Bodies are JSON whatever their declared type: `curl -d` sends form-encoded headers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('invalid_json'), undefined);
    }
  });

  app.decorateRequest('work', null as unknown as RequestWork);
  // Who hears of a client that left before any reply was handed over (the plugins below).
  let abandoned: Abandoned[] = [];
  // Callback-style hooks where they run on every request: an async function costs a promise.
  app.addHook('onRequest', (request, reply, done) => {
    request.work = deps.lifecycle.begin(reply.raw, () => {
      for (const hear of abandoned) hear(request, reply);
    });
    reply.header('x-request-id', request.id);
    if (deps.lifecycle.draining && request.routeOptions.config.public !== true) {
      reply.header('connection', 'close');
      done(new AppError('shutting_down'));
      return;
    }
    done();
  });
  const accessLogAbandoned = registerAccessLog(app, deps.logger);

  registerErrorHandler(app, bodyLimit);
  // Audit first: its hooks see every reply, 401s from auth included (plugins/audit.ts).
  abandoned = [accessLogAbandoned, registerAudit(app, deps.audit, deps.clock)];
  // After the audit plugin: the latency measured includes the wait for the audit commit.
  if (deps.monitor) registerMetrics(app, deps.monitor);
  // The console's cookies are Secure (and __Host-) whenever the browser talks HTTPS, here or at a
  // proxy; HSTS only when this server terminates TLS itself.
  const secureCookies = deps.https !== undefined || deps.config.tls.terminated_by_proxy;
  const guard = registerGuard(app, deps.config, deps.clock, {
    tls: deps.https !== undefined,
    secureCookies,
    rateLimiter: deps.rateLimiter,
  });
  const consoleEnabled = deps.config.console.enabled;
  if (deps.accessControl === 'off') {
    registerOpenAccess(app, openAccessPrincipal, guard.afterAuth);
  } else {
    registerAuth(
      app,
      deps.authenticator,
      deps.policies,
      guard.afterAuth,
      consoleEnabled ? { secure: secureCookies } : undefined,
    );
  }
  healthRoutes(app, deps);
  consoleRoutes(app, { enabled: consoleEnabled, dir: deps.consoleDir ?? defaultConsoleDir() });
  consoleSessionRoutes(app, {
    authenticator: deps.authenticator,
    clock: deps.clock,
    secure: secureCookies,
    enabled: consoleEnabled,
    afterAuth: guard.afterAuth,
  });
  chatRoutes(app, deps, guard.limits);
  openaiRoutes(app, deps, guard.limits);
  conversationRoutes(app, deps);
  keyRoutes(app, deps);
  backupRoutes(app, deps);
  tokenRoutes(app, deps);
  policySimulationRoutes(app, deps);
  auditRoutes(app, deps);
  if (deps.monitor) {
    prometheusRoute(app, deps.monitor);
    seriesRoute(app, deps.monitor);
  }
  if (deps.alerting) alertRoutes(app, deps.alerting);
  return app;
}
