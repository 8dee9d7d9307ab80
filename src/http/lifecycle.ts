import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { RequestWork } from '../util/request-work.js';

/**
 * Process state the HTTP layer shares with the server's shutdown: whether it is draining, and
 * one abort handle per response still open (their number is the in-flight count).
 */
export class Lifecycle {
  /** Set on SIGTERM: readiness fails and new work is refused while in-flight work drains. */
  draining = false;
  private readonly open = new Set<RequestWork>();

  /** Responses not yet closed (streams included). */
  get inFlight(): number {
    return this.open.size;
  }

  /**
   * Tracks one response until it closes. The returned handle aborts the work behind it when the
   * client goes away before the response was fully sent (with `client_closed_request`, so the
   * request is recorded as the client leaving, 499, not as a failed model call), or when
   * `abortAll` cuts it; `onAbandoned` then runs too.
   */
  begin(response: ServerResponse, onAbandoned?: () => void): RequestWork {
    const work = new RequestWork();
    this.open.add(work);
    response.once('close', () => {
      this.open.delete(work);
      if (!response.writableFinished) {
        work.abort(new AppError('client_closed_request'));
        onAbandoned?.();
      }
    });
    return work;
  }

  /** Aborts every open response's work with `reason`, which callers may show (`shutting_down`). */
  abortAll(reason: Error): void {
    for (const work of this.open) work.abort(reason);
  }
}

export interface DrainOptions {
  app: FastifyInstance;
  lifecycle: Lifecycle;
  logger: Logger;
  reason: string;
  graceMs: number;
}

/**
 * Graceful stop: readiness answers 503 at once and new work is refused with 503 while the
 * listener stays open (so load balancers see the pod leave instead of refused connections);
 * in-flight requests and streams get `graceMs` to finish, then they are cut (partial answers are
 * stored as incomplete). Idle keep-alive sockets are closed as soon as they go idle.
 */
export async function drain({
  app,
  lifecycle,
  logger,
  reason,
  graceMs,
}: DrainOptions): Promise<void> {
  lifecycle.draining = true;
  logger.info({ reason, grace_ms: graceMs, in_flight: lifecycle.inFlight }, 'draining');
  const server = app.server;
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  try {
    if (!(await settled(lifecycle, graceMs))) {
      logger.warn(
        { in_flight: lifecycle.inFlight },
        'grace period over: cutting in-flight requests',
      );
      lifecycle.abortAll(new AppError('shutting_down'));
      await settled(lifecycle, 2000);
    }
    // Nothing is being answered now, so every connection left can go: some that look busy to
    // Node (a kept-alive socket after a client abandoned a stream) would otherwise hold
    // app.close() forever.
    server.closeAllConnections();
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

/** Waits until no request is in flight; false when `timeoutMs` passed first. */
async function settled(lifecycle: Lifecycle, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (lifecycle.inFlight > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
