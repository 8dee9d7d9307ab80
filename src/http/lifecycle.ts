/**
 * Process state the HTTP layer shares with the server's shutdown: whether it is draining, how
 * many requests are in flight, and an abort handle for each of them.
 */
export class Lifecycle {
  /** Set on SIGTERM: readiness fails and new work is refused while in-flight work drains. */
  draining = false;
  /** Requests whose response has not yet closed (streams included). */
  inFlight = 0;
  private readonly controllers = new Set<AbortController>();

  /** Registers a request's abort handle until `release`. */
  track(controller: AbortController): void {
    this.controllers.add(controller);
  }

  release(controller: AbortController): void {
    this.controllers.delete(controller);
  }

  /** Aborts every tracked request with `reason`, which callers may show (e.g. `shutting_down`). */
  abortAll(reason: Error): void {
    for (const controller of this.controllers) controller.abort(reason);
  }
}
