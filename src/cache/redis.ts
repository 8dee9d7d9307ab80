import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { readSecretFile } from '../config/load.js';
import type { Config } from '../config/schema.js';

/** What the shared features see of Redis: the client, whether it answers, and the key prefix. */
export interface SharedRedis {
  readonly client: Redis;
  readonly prefix: string;
  /** True while connected; commands fail fast (never queue) while false. */
  readonly up: boolean;
  /** Times a feature fell back because Redis failed, by feature (metric). */
  readonly fallbacks: ReadonlyMap<string, number>;
  /** Counts a fallback and logs the first one of each outage per feature. */
  fellBack(feature: string, error: unknown): void;
  /** A second connection for SUBSCRIBE (a subscribed connection can run nothing else). */
  subscriber(): Redis;
  close(): Promise<void>;
}

/**
 * Connects to `redis.url`. Commands never wait in an offline queue and time out after
 * `command_timeout_ms`, so a Redis outage costs a request milliseconds, not a hang; the client
 * keeps reconnecting in the background (every 0.2 to 2 s) and service returns by itself. Errors
 * are logged once per outage, never thrown at the process.
 */
export function openRedis(config: Readonly<Config>, logger: Logger): SharedRedis | undefined {
  const settings = config.redis;
  if (settings.url === undefined) return undefined;
  const password =
    settings.password_file === undefined
      ? undefined
      : readSecretFile(settings.password_file, 'redis.password_file');
  const connect = (name: string) =>
    new Redis(settings.url!, {
      ...(password === undefined ? {} : { password }),
      connectionName: name,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.command_timeout_ms,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
    });
  const client = connect('assistd');
  const connections: Redis[] = [client];
  const fallbacks = new Map<string, number>();
  const warned = new Set<string>();
  let up = false;
  let everUp = false;
  let errorSaid = false;
  // A setting no reconnect can mend: ioredis carries on in database 0 after a SELECT of one that
  // does not exist, which would share state with whatever else uses that database.
  let misconfigured = false;
  client.on('ready', () => {
    if (misconfigured) return;
    if (everUp && !up) logger.info('Redis is back: shared cache, rate limits and locks resume');
    up = true;
    everUp = true;
    errorSaid = false;
    warned.clear();
  });
  // The first error of each outage says why (refused, WRONGPASS, NOAUTH, a timeout…): a wrong
  // password or address at start would otherwise leave shared state off without a word.
  client.on('error', (error: Error) => {
    if (/DB index is out of range|invalid DB index/i.test(error.message) && !misconfigured) {
      misconfigured = true;
      up = false;
      for (const connection of connections) connection.disconnect();
      logger.error(
        { err: error },
        `Redis cannot be used (${error.message}): cache, rate limits and locks stay in this process; check redis.url, its database number`,
      );
      return;
    }
    if (errorSaid || misconfigured) return;
    errorSaid = true;
    logger.warn(
      { err: error, mode: config.redis.rate_limit_on_failure },
      everUp
        ? `Redis error: ${error.message}`
        : `Redis cannot be used (${error.message}): cache, rate limits and locks stay in this process until it can; check redis.url and redis.password_file`,
    );
  });
  client.on('close', () => {
    if (up) logger.warn('Redis connection lost: falling back to in-process state until it returns');
    up = false;
  });
  // A Redis that stops answering without closing the connection (a partition, a frozen host)
  // sends no event: a PING every second finds it, so `up` (the metric, /ready, the features)
  // says so and requests stop waiting out a command timeout each.
  let stalled = false;
  const watchdog = setInterval(() => {
    if (client.status !== 'ready' || misconfigured) return;
    client.ping().then(
      () => {
        if (!stalled) return;
        stalled = false;
        logger.info('Redis answers again: shared cache, rate limits and locks resume');
      },
      (error: unknown) => {
        if (stalled || client.status !== 'ready') return;
        stalled = true;
        logger.warn(
          { err: error },
          `Redis does not answer (no reply within ${settings.command_timeout_ms} ms): falling back to in-process state until it does`,
        );
      },
    );
  }, 1_000);
  watchdog.unref();
  return {
    client,
    prefix: settings.key_prefix,
    get up() {
      return up && !stalled;
    },
    fallbacks,
    fellBack(feature, error) {
      fallbacks.set(feature, (fallbacks.get(feature) ?? 0) + 1);
      if (warned.has(feature)) return;
      warned.add(feature);
      logger.warn(
        {
          feature,
          err: error,
          ...(feature === 'rate_limit' ? { mode: config.redis.rate_limit_on_failure } : {}),
        },
        'Redis unavailable: this feature falls back until it returns',
      );
    },
    subscriber() {
      const connection = connect('assistd-subscriber');
      connection.on('error', () => undefined);
      connections.push(connection);
      return connection;
    },
    async close() {
      clearInterval(watchdog);
      await Promise.all(
        connections.map((connection) =>
          connection.status === 'end'
            ? Promise.resolve()
            : connection.quit().then(
                () => undefined,
                () => connection.disconnect(),
              ),
        ),
      );
    },
  };
}
