import { RequestWork } from '../util/request-work.js';
import { ProviderError } from './provider-error.js';

/**
 * One model call's signal: aborted when the caller's is (with its reason), or when the call has
 * run `ms` in all, with a `timeout` ProviderError as the reason. The per-phase timeouts (first
 * byte, between chunks) restart with every byte; this one bounds an endpoint that drips bytes
 * forever. `end()` must be called when the call is over (it clears the timer).
 */
export class CallDeadline {
  readonly signal: AbortSignal;
  private readonly work = new RequestWork();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.work.abort(this.caller.reason);

  constructor(
    private readonly caller: AbortSignal,
    ms: number,
  ) {
    this.signal = this.work;
    if (caller.aborted) this.work.abort(caller.reason);
    else caller.addEventListener('abort', this.onCallerAbort, { once: true });
    this.timer = setTimeout(() => {
      this.work.abort(
        new ProviderError({
          failure: 'timeout',
          message: `model endpoint: no whole answer within ${ms} ms (upstream.total_timeout_ms)`,
        }),
      );
    }, ms);
  }

  end(): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener('abort', this.onCallerAbort);
  }
}
