import type { Config } from '../config/schema.js';
import type { Clock } from '../util/ids.js';
import { Buckets, type BucketRule } from './limits.js';

/**
 * Per-principal request and token budgets. `admit` is synchronous in process and a promise when
 * the buckets live in Redis, so the single-replica path costs no promise.
 */
export interface RateLimiter {
  /**
   * Admits one request: 0 when it may go (one request unit is spent), otherwise the wait in
   * milliseconds. `spendsTokens`: it asks a model for an answer, so a spent token budget refuses
   * it too (and it spends no request unit then); other requests (conversations, admin) only
   * need a request unit, so a principal in token debt can still work the rest of the API.
   */
  admit(principal: string, spendsTokens: boolean): number | Promise<number>;
  /** Charges the tokens an answer used (prompt + completion); the level may go below zero. */
  chargeTokens(principal: string, tokens: number): void;
}

export interface RateRules {
  requests: BucketRule;
  tokens: BucketRule;
}

export function rateRules(limits: Readonly<Config['limits']>): RateRules {
  return {
    requests: { perMinute: limits.requests_per_minute, capacity: limits.request_burst },
    tokens: { perMinute: limits.tokens_per_minute, capacity: limits.token_burst },
  };
}

/** The buckets of one process (the embedded default, and the fallback while Redis is down). */
export class LocalRateLimiter implements RateLimiter {
  private readonly requests: Buckets;
  private readonly tokens: Buckets;

  constructor(rules: RateRules, clock: Clock, maxKeys: number) {
    this.requests = new Buckets(rules.requests, clock, maxKeys);
    this.tokens = new Buckets(rules.tokens, clock, maxKeys);
  }

  admit(principal: string, spendsTokens: boolean): number {
    return (spendsTokens ? this.tokens.waitFor(principal, 1) : 0) || this.requests.take(principal);
  }

  chargeTokens(principal: string, tokens: number): void {
    this.tokens.charge(principal, tokens);
  }
}
