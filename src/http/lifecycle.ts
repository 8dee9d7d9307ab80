import type { ServerResponse } from 'node:http';

/**
 * Process state the HTTP layer shares with the server's shutdown: whether it is draining, and
 * one abort handle per response still open (their number is the in-flight count).
 */
export class Lifecycle {
  /** Set on SIGTERM: readiness fails and new work is refused while in-flight work drains. */
  draining = false;
  private readonly open = new Set<AbortController>();

  /** Responses not yet closed (streams included). */
  get inFlight(): number {
    return this.open.size;
  }

  /**
   * Tracks one response until it closes. The returned handle aborts the work behind it when the
   * client goes away before the response was fully sent, or when `abortAll` cuts it.
   */
  begin(response: ServerResponse): AbortController {
    const controller = new AbortController();
    this.open.add(controller);
    response.once('close', () => {
      this.open.delete(controller);
      if (!response.writableFinished) controller.abort();
    });
    return controller;
  }

  /** Aborts every open response's work with `reason`, which callers may show (`shutting_down`). */
  abortAll(reason: Error): void {
    for (const controller of this.open) controller.abort(reason);
  }
}
