import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ContextCache, type ConversationCache } from '../dialog/context-cache.js';
import { LocalRateLimiter, rateRules, type RateLimiter } from '../security/rate-limiter.js';
import type { FieldCipher } from '../storage/types.js';
import type { Clock } from '../util/ids.js';
import type { SharedRedis } from './redis.js';

/** What another replica may tell this one to reread at once. */
export type ReloadKind = 'policies' | 'keys';
const reloadKinds: readonly ReloadKind[] = ['policies', 'keys'];

/**
 * The state replicas share: the context cache, the rate-limit buckets, locks and the reload
 * channel. Without `redis.url` everything stays in this process (one replica); with it, Redis
 * holds them and this process falls back to its own state while Redis is down.
 */
export interface SharedState {
  readonly redis: SharedRedis | undefined;
  readonly cache: ConversationCache;
  readonly rateLimiter: RateLimiter;
  /**
   * Runs `work` unless another replica holds the lock `name` (then resolves undefined). The lock
   * is a lease of `leaseMs`, renewed while `work` runs: a replica that dies holding it (`kill -9`,
   * a lost node) blocks the others for `leaseMs` at most. Without Redis, or while it is down,
   * `work` runs: what it protects must stay correct without the lock (the store's own
   * transactions), the lock only saves duplicate work.
   */
  exclusive<T>(name: string, leaseMs: number, work: () => Promise<T>): Promise<T | undefined>;
  /** Tells the other replicas to reload `kind` now. */
  announce(kind: ReloadKind): void;
  /** Called when another replica (or the CLI) announced a reload. */
  onAnnounce(listener: (kind: ReloadKind) => void): void;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Seals what the shared context cache writes to Redis. */
  cipher: FieldCipher;
  clock?: Clock;
}

/** Compare-and-delete: a lock is released only by the replica that holds it. */
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Compare-and-extend: a lease is renewed only by the replica that holds it. */
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export async function openSharedState(options: SharedStateOptions): Promise<SharedState> {
  const { config, logger } = options;
  const clock = options.clock ?? Date.now;
  const cacheSettings = config.context_cache;
  const localCache = new ContextCache({
    ttlMs: cacheSettings.ttl_seconds * 1000,
    maxEntries: cacheSettings.max_entries,
    maxBytes: cacheSettings.max_bytes,
  });
  const rules = rateRules(config.limits);
  const localLimiter = new LocalRateLimiter(rules, clock, config.limits.tracked_keys);
  if (config.redis.url === undefined) {
    return {
      redis: undefined,
      cache: localCache,
      rateLimiter: localLimiter,
      exclusive: (_name, _ttl, work) => work(),
      announce: () => undefined,
      onAnnounce: () => undefined,
      close: () => Promise.resolve(),
    };
  }
  // Loaded only when configured: ioredis is not needed by one replica (idle memory).
  const [{ openRedis }, { RedisContextCache }, { RedisRateLimiter }] = await Promise.all([
    import('./redis.js'),
    import('./redis-context-cache.js'),
    import('./redis-rate-limiter.js'),
  ]);
  const redis = openRedis(config, logger)!;

  const instance = randomUUID();
  const channel = `${redis.prefix}reload`;
  const listeners: Array<(kind: ReloadKind) => void> = [];
  const subscriber = redis.subscriber();
  subscriber.on('message', (_channel: string, text: string) => {
    let message: { kind?: unknown; from?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    const kind = reloadKinds.find((known) => known === message.kind);
    if (kind === undefined || message.from === instance) return;
    logger.info({ kind }, 'reload announced by another replica');
    for (const listener of listeners) listener(kind);
  });
  // Resubscribes after every reconnect (ioredis does it too; this covers a first failed try).
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).catch(() => undefined);
  });

  return {
    redis,
    cache: new RedisContextCache(
      redis,
      localCache,
      options.cipher,
      cacheSettings.ttl_seconds * 1000,
    ),
    rateLimiter: new RedisRateLimiter(
      redis,
      rules,
      localLimiter,
      config.redis.rate_limit_on_failure,
    ),
    async exclusive(name, leaseMs, work) {
      const key = `${redis.prefix}lock:${name}`;
      const token = randomUUID();
      let held: boolean;
      try {
        held = (await redis.client.set(key, token, 'PX', leaseMs, 'NX')) === 'OK';
      } catch (error) {
        redis.fellBack('lock', error);
        return work();
      }
      if (!held) return undefined;
      // Renewed three times a lease; a renewal lost while Redis is down is retried by the next.
      const renewal = setInterval(() => {
        redis.client.eval(renewScript, 1, key, token, leaseMs).catch(() => undefined);
      }, leaseMs / 3);
      renewal.unref();
      try {
        return await work();
      } finally {
        clearInterval(renewal);
        await redis.client.eval(releaseScript, 1, key, token).catch(() => undefined);
      }
    },
    announce(kind) {
      redis.client
        .publish(channel, JSON.stringify({ kind, from: instance }))
        .catch((error: unknown) => redis.fellBack('reload_channel', error));
    },
    onAnnounce(listener) {
      listeners.push(listener);
    },
    close: () => redis.close(),
  };
}

/** For the CLI: tells running replicas to reload `kind` (no-op without `redis.url`). */
export async function announceReload(
  config: Readonly<Config>,
  logger: Logger,
  kind: ReloadKind,
): Promise<boolean> {
  if (config.redis.url === undefined) return false;
  const { openRedis } = await import('./redis.js');
  const redis = openRedis(config, logger)!;
  try {
    await new Promise<void>((resolve, reject) => {
      redis.client.once('ready', resolve);
      redis.client.once('end', () => reject(new Error('Redis is not reachable')));
      setTimeout(() => reject(new Error('Redis did not answer within 3 s')), 3_000).unref();
    });
    await redis.client.publish(
      `${redis.prefix}reload`,
      JSON.stringify({ kind, from: `cli-${randomUUID()}` }),
    );
    return true;
  } finally {
    await redis.close();
  }
}
