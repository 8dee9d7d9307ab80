/**
 * At most `limit` sends in any `windowMs` (a sliding-window log, one timestamp per send).
 *
 * Not a token bucket on purpose: a bucket of 20 refilled at 20 a minute lets 20 go at once and
 * the 21st three seconds later, so 21 messages land within one minute, which is what a WeCom or
 * DingTalk robot rejects (errcode 45009, "20 messages a minute"). The log costs `limit` numbers.
 */
export class RateWindow {
  private readonly sentAt: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a rate limit must be a positive integer, not ${limit}`);
    }
  }

  /** Milliseconds until a send is allowed at `now`; 0: now. */
  waitMs(now: number): number {
    this.forget(now);
    if (this.sentAt.length < this.limit) return 0;
    return Math.max(1, this.sentAt[0]! + this.windowMs - now);
  }

  /** Counts a send made at `now`. */
  record(now: number): void {
    this.forget(now);
    this.sentAt.push(now);
    if (this.sentAt.length > this.limit) this.sentAt.shift();
  }

  private forget(now: number): void {
    while (this.sentAt.length > 0 && this.sentAt[0]! + this.windowMs <= now) this.sentAt.shift();
  }
}
