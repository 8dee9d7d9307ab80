import { AppError } from '../errors.js';
import type { RateLimiter, RateRules } from '../security/rate-limiter.js';
import type { SharedRedis } from './redis.js';

/**
 * The token bucket of security/limits.ts in Lua, so a check-and-take is one atomic step for all
 * replicas. Time is Redis's own clock (replicas' clocks may differ). A bucket idle long enough to
 * be full again expires.
 *
 * KEYS: the tokens bucket, the requests bucket. ARGV: mode (`admit`, `admit-requests`: without
 * the token check, or `charge`), cost, then each bucket's capacity and units per minute. The
 * admits return the wait in ms (0: one request taken).
 */
const script = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, capacity, perMs)
  local b = redis.call('HMGET', key, 'l', 'a')
  if not b[1] then return capacity end
  return math.min(capacity, tonumber(b[1]) + (now - tonumber(b[2])) * perMs)
end
local function store(key, value, capacity, perMs)
  redis.call('HSET', key, 'l', tostring(value), 'a', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - math.min(value, capacity)) / perMs) + 1000)
end
local cost = tonumber(ARGV[2])
local tokenCap, tokenRate = tonumber(ARGV[3]), tonumber(ARGV[4]) / 60000
local tokens = level(KEYS[1], tokenCap, tokenRate)
if ARGV[1] == 'charge' then
  store(KEYS[1], tokens - cost, tokenCap, tokenRate)
  return 0
end
if ARGV[1] == 'admit' and tokens < 1 then return math.ceil((1 - tokens) / tokenRate) end
local requestCap, requestRate = tonumber(ARGV[5]), tonumber(ARGV[6]) / 60000
local requests = level(KEYS[2], requestCap, requestRate)
if requests < 1 then return math.ceil((1 - requests) / requestRate) end
store(KEYS[2], requests - 1, requestCap, requestRate)
return 0
`;

declare module 'ioredis' {
  interface RedisCommander {
    assistdBucket(
      tokensKey: string,
      requestsKey: string,
      ...args: (string | number)[]
    ): Promise<number>;
  }
}

/**
 * Budgets shared by every replica through Redis. While Redis does not answer, `onFailure` decides:
 * `local` uses this replica's own buckets, `open` admits, `closed` refuses with 503
 * `rate_limit_unavailable`; each fallback is counted (metric) and the first of an outage logged.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly args: (string | number)[];

  constructor(
    private readonly redis: SharedRedis,
    rules: RateRules,
    private readonly local: RateLimiter,
    private readonly onFailure: 'local' | 'open' | 'closed',
  ) {
    redis.client.defineCommand('assistdBucket', { numberOfKeys: 2, lua: script });
    this.args = [
      rules.tokens.capacity,
      rules.tokens.perMinute,
      rules.requests.capacity,
      rules.requests.perMinute,
    ];
  }

  async admit(principal: string, spendsTokens: boolean): Promise<number> {
    try {
      // Known down or stalled: fall back at once rather than wait out the command timeout.
      if (!this.redis.up) throw new Error('Redis is down or does not answer');
      const [tokensKey, requestsKey] = this.keys(principal);
      return await this.redis.client.assistdBucket(
        tokensKey,
        requestsKey,
        spendsTokens ? 'admit' : 'admit-requests',
        1,
        ...this.args,
      );
    } catch (error) {
      this.redis.fellBack('rate_limit', error);
      if (this.onFailure === 'open') return 0;
      if (this.onFailure === 'closed') throw new AppError('rate_limit_unavailable');
      return this.local.admit(principal, spendsTokens);
    }
  }

  chargeTokens(principal: string, tokens: number): void {
    const [tokensKey, requestsKey] = this.keys(principal);
    this.redis.client
      .assistdBucket(tokensKey, requestsKey, 'charge', tokens, ...this.args)
      .catch((error: unknown) => {
        this.redis.fellBack('rate_limit', error);
        if (this.onFailure === 'local') this.local.chargeTokens(principal, tokens);
      });
  }

  /** Both keys in one hash slot (`{…}`), so the script also runs on a Redis Cluster. */
  private keys(principal: string): [string, string] {
    const tag = `${this.redis.prefix}rl:{${principal}}`;
    return [`${tag}:tokens`, `${tag}:requests`];
  }
}
