import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import { AppError } from '../../errors.js';
import { Lockout } from '../../security/limits.js';
import { LocalRateLimiter, rateRules, type RateLimiter } from '../../security/rate-limiter.js';
import type { StreamPart, Usage } from '../../providers/types.js';
import type { Clock } from '../../util/ids.js';
import { retryAfterHeader } from '../../util/retry-after.js';
import { csrfHeaderName, sessionTokenFrom } from '../session-cookie.js';

/** Per-principal budgets, checked after authentication and charged with each answer's tokens. */
export interface Limits {
  /** Charges a principal for the tokens an answer used (prompt + completion). */
  chargeTokens(principal: string, tokens: number): void;
}

/** Runs once the caller is known and allowed: the rate limits (a promise when they are in Redis). */
export type AfterAuth = (request: FastifyRequest) => void | Promise<void>;

/**
 * Request hygiene that every response gets: security headers, CORS only for configured origins,
 * a lockout of addresses that keep failing authentication (checked before the token), and
 * per-principal request and token budgets (checked after it). Register before `registerAuth`.
 */
export function registerGuard(
  app: FastifyInstance,
  config: Readonly<Config>,
  clock: Clock,
  options: { tls: boolean; secureCookies: boolean; rateLimiter?: RateLimiter | undefined },
): { limits: Limits; afterAuth: AfterAuth } {
  const limits = config.limits;
  const lockout = new Lockout(
    {
      maxFailures: limits.failed_auth_max,
      windowMs: limits.failed_auth_window_seconds * 1000,
      lockMs: limits.lockout_seconds * 1000,
    },
    clock,
    limits.tracked_keys,
  );
  const rates =
    options.rateLimiter ?? new LocalRateLimiter(rateRules(limits), clock, limits.tracked_keys);
  const origins = new Set(limits.cors_origins.map((origin) => new URL(origin).origin));

  app.addHook('onRequest', async (request, reply) => {
    setSecurityHeaders(reply, options.tls);
    const origin = request.headers.origin;
    if (origin !== undefined && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        reply.header('access-control-allow-methods', 'GET, POST, PATCH, DELETE');
        reply.header('access-control-allow-headers', allowedHeaders);
        reply.header('access-control-max-age', '600');
        return reply.status(204).send();
      }
    }
    if (request.routeOptions.config.public === true) return;
    if (request.routeOptions.config.signOut === true) return; // it only forgets a cookie
    const locked = lockout.lockedFor(request.ip);
    if (locked > 0) {
      throw new AppError('auth_locked_out', undefined, { headers: retryAfterHeader(locked) });
    }
  });

  // Failed authentication is counted from the final status, so every 401 counts once; but only
  // when a credential was presented. A request without one guesses nothing, and browsers send
  // plenty (the console asking whether it is signed in), which would otherwise lock users out.
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 401) {
      if (presentsCredential(request, options.secureCookies)) lockout.failed(request.ip);
    } else if (request.principal) {
      lockout.succeeded(request.ip);
    }
    done();
  });

  const refuse = (wait: number): void => {
    if (wait > 0)
      throw new AppError('rate_limited', undefined, { headers: retryAfterHeader(wait) });
  };
  return {
    limits: { chargeTokens: (principal, used) => rates.chargeTokens(principal, used) },
    afterAuth(request) {
      const wait = rates.admit(
        request.principal!.name,
        request.routeOptions.config.spendsTokens === true,
      );
      return typeof wait === 'number' ? refuse(wait) : wait.then(refuse);
    },
  };
}

/**
 * Passes stream parts through, charging the principal for the tokens of the answer: its reported
 * usage when it finishes (`estimate` of it, filled into the finish part, when the model reported
 * none), else `estimate` of what was generated before it was cut short (a client that leaves
 * before the end must not get the tokens for free) or failed midway. A call that failed before
 * any text is charged only when the client left (the prompt was read).
 */
export async function* chargedParts(
  parts: AsyncIterable<StreamPart>,
  charge: (tokens: number) => void,
  estimate: (answer: string) => Usage,
  signal: AbortSignal,
): AsyncGenerator<StreamPart> {
  let answer = '';
  let charged = false;
  try {
    for await (const part of parts) {
      if (part.type === 'text-delta') answer += part.text;
      else if (part.type === 'tool-call-delta') answer += (part.name ?? '') + part.arguments;
      else if (part.type === 'finish') {
        const usage = part.usage ?? estimate(answer);
        charged = true;
        charge(usage.totalTokens);
        yield part.usage === undefined ? { ...part, usage } : part;
        continue;
      }
      yield part;
    }
  } finally {
    if (!charged) chargePartial(charge, estimate, answer, signal);
  }
}

/** Charges the estimate of an answer that did not finish (see chargedParts). */
export function chargePartial(
  charge: (tokens: number) => void,
  estimate: (answer: string) => Usage,
  answer: string | undefined,
  signal: AbortSignal,
): void {
  if ((answer !== undefined && answer !== '') || signal.aborted)
    charge(estimate(answer ?? '').totalTokens);
}

/**
 * Request headers a configured origin may send. The CSRF header only matters with the session
 * cookie, which SameSite=Strict keeps off cross-site requests; it is listed for same-site origins
 * (another port or subdomain of the same site).
 */
const allowedHeaders = `authorization, content-type, x-request-id, ${csrfHeaderName}`;

/**
 * Whether a request carried something to authenticate with: an `Authorization` header, a token
 * in a body (POST /console/session, which answers 400 without one) or the session cookie.
 */
function presentsCredential(request: FastifyRequest, secureCookies: boolean): boolean {
  if (request.headers.authorization !== undefined) return true;
  if (request.routeOptions.config.ownAuthentication === true && request.method === 'POST') {
    return true;
  }
  // The cookie this server reads, by its exact name: under TLS a plain `assistd_session`, which
  // a sibling subdomain or another port can plant, must not count toward the lockout either.
  return sessionTokenFrom(request.headers.cookie, secureCookies) !== undefined;
}

/** What every response carries, errors written outside Fastify too (client-errors.ts). */
export function securityHeaders(tls: boolean): Array<[string, string]> {
  return [
    ['x-content-type-options', 'nosniff'],
    ['x-frame-options', 'DENY'],
    ['referrer-policy', 'no-referrer'],
    ['cross-origin-resource-policy', 'same-origin'],
    ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
    ...(tls ? [['strict-transport-security', 'max-age=31536000'] as [string, string]] : []),
  ];
}

const withTls = securityHeaders(true);
const withoutTls = securityHeaders(false);

function setSecurityHeaders(reply: FastifyReply, tls: boolean): void {
  for (const [name, value] of tls ? withTls : withoutTls) reply.header(name, value);
}
