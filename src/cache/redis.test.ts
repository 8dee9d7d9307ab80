import { spawn } from 'node:child_process';
import { type AddressInfo, connect as netConnect, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectRedis, testPrefix, testRedisUrl } from '../../test/support/redis.js';
import { configSchema } from '../config/schema.js';
import type { CachedContext } from '../dialog/context-cache.js';
import { ContextCache } from '../dialog/context-cache.js';
import type { AppError } from '../errors.js';
import { LocalRateLimiter } from '../security/rate-limiter.js';
import type { FieldCipher } from '../storage/types.js';
import { openRedis, type SharedRedis } from './redis.js';
import { RedisContextCache } from './redis-context-cache.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { announceReload, openSharedState } from './shared.js';

const opened: SharedRedis[] = [];
afterAll(async () => {
  await Promise.all(opened.map((redis) => redis.close()));
});
async function connect(prefix: string, url = testRedisUrl): Promise<SharedRedis> {
  const redis = await connectRedis(url, prefix, { wait: url !== downUrl });
  opened.push(redis);
  return redis;
}
/** Nothing listens on port 1: every command fails at once. */
const downUrl = 'redis://127.0.0.1:1';

const rules = {
  requests: { perMinute: 60, capacity: 5 },
  tokens: { perMinute: 6000, capacity: 100 },
};
const local = () => new LocalRateLimiter(rules, Date.now, 1000);

describe('rate limits in Redis', () => {
  it('share one budget between replicas', async () => {
    const prefix = testPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    const limiters = [a, b].map((redis) => new RedisRateLimiter(redis, rules, local(), 'local'));
    const waits: number[] = [];
    for (let index = 0; index < 6; index++)
      waits.push(await limiters[index % 2]!.admit('alice', true));
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // One request a second: the sixth waits about a second.
    expect(waits[5]).toBeGreaterThan(500);
    expect(waits[5]).toBeLessThanOrEqual(1000);
    // Another principal has its own budget.
    expect(await limiters[1]!.admit('bob', true)).toBe(0);
  });

  it('charge tokens, and refuse model requests once the token budget is spent', async () => {
    const redis = await connect(testPrefix());
    const limiter = new RedisRateLimiter(redis, rules, local(), 'local');
    expect(await limiter.admit('carol', true)).toBe(0);
    limiter.chargeTokens('carol', 150);
    await redis.client.ping(); // the charge was sent before this
    const wait = await limiter.admit('carol', true);
    // 51 tokens short at 100 a second.
    expect(wait).toBeGreaterThan(400);
    expect(wait).toBeLessThanOrEqual(520);
    // What asks no model for an answer needs only a request unit.
    expect(await limiter.admit('carol', false)).toBe(0);
    expect(await redis.client.pttl(`${redis.prefix}rl:{carol}:tokens`)).toBeGreaterThan(0);
  });

  it('follow rate_limit_on_failure while Redis is down, counting each fallback', async () => {
    const redis = await connect(testPrefix(), downUrl);
    expect(redis.up).toBe(false);
    const closed = new RedisRateLimiter(redis, rules, local(), 'closed');
    await expect(closed.admit('dave', true)).rejects.toMatchObject({
      code: 'rate_limit_unavailable',
      status: 503,
    } satisfies Partial<AppError>);
    expect(await new RedisRateLimiter(redis, rules, local(), 'open').admit('dave', true)).toBe(0);
    const fallback = new RedisRateLimiter(redis, rules, local(), 'local');
    const waits: number[] = [];
    for (let index = 0; index < 6; index++) waits.push(await fallback.admit('dave', true));
    expect(waits.filter((wait) => wait === 0)).toHaveLength(5);
    expect(redis.fallbacks.get('rate_limit')).toBe(8);
  });
});

/** Reversible and visible, standing in for the AES-GCM field cipher. */
const cipher: FieldCipher = {
  encrypts: true,
  encrypt: (text, context) => `sealed:${context}:${Buffer.from(text).toString('base64')}`,
  decrypt: (stored, context) => {
    const prefix = `sealed:${context}:`;
    if (!stored.startsWith(prefix)) throw new Error('wrong context');
    return Buffer.from(stored.slice(prefix.length), 'base64').toString();
  },
  isEncrypted: (stored) => stored.startsWith('sealed:'),
};

const entry = (text: string): CachedContext => ({
  conversation: {
    id: 'conv_1',
    principal: 'alice',
    title: 't',
    model: 'm',
    systemPrompt: undefined,
    createdAt: 1,
    updatedAt: 2,
    messageCount: 1,
  },
  messages: [
    {
      id: 'msg_1',
      conversationId: 'conv_1',
      seq: 1,
      role: 'user',
      content: text,
      tokens: 3,
      incomplete: false,
      createdAt: 2,
    },
  ],
  olderCount: 0,
  budgetTokens: 4096,
});

const localCache = () => new ContextCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });

describe('the context cache in Redis', () => {
  it('hands one replica’s entry to another, sealed, with the TTL', async () => {
    const prefix = testPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    const first = new RedisContextCache(a, localCache(), cipher, 60_000);
    const second = new RedisContextCache(b, localCache(), cipher, 60_000);
    first.set('conv_1', entry('secret words'));
    await a.client.ping();
    expect(await second.get('conv_1')).toEqual(entry('secret words'));
    const raw = await a.client.get(`${prefix}ctx:conv_1`);
    expect(raw).toMatch(/^sealed:context_cache:conv_1:/);
    expect(raw).not.toContain('secret words');
    const ttl = await a.client.pttl(`${prefix}ctx:conv_1`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(second.stats()).toMatchObject({ hits: 1, misses: 0 });

    second.delete('conv_1');
    await b.client.ping();
    expect(await new RedisContextCache(a, localCache(), cipher, 60_000).get('conv_1')).toBe(
      undefined,
    );
  });

  it('treats an entry sealed for another conversation as a miss', async () => {
    const prefix = testPrefix();
    const redis = await connect(prefix);
    await redis.client.set(`${prefix}ctx:conv_2`, cipher.encrypt('{}', 'context_cache:conv_1'));
    expect(await new RedisContextCache(redis, localCache(), cipher, 60_000).get('conv_2')).toBe(
      undefined,
    );
    expect(redis.fallbacks.get('context_cache_unreadable')).toBe(1);
  });

  it('serves from the process cache alone while Redis is down', async () => {
    const redis = await connect(testPrefix(), downUrl);
    const cache = new RedisContextCache(redis, localCache(), cipher, 60_000);
    cache.set('conv_1', entry('kept locally'));
    expect(await cache.get('conv_1')).toEqual(entry('kept locally'));
    expect(await cache.get('conv_9')).toBeUndefined();
  });
});

describe('a Redis that cannot be used', () => {
  it('says why once, at start, whether refused or unreachable', async () => {
    // A Redis of its own that wants a password (the shared one has none).
    const port = 20_000 + (process.pid % 10_000);
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--requirepass', 'right', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    onTestFinished(() => {
      server.kill();
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [url, why] of [
      [`redis://:wrong@127.0.0.1:${port}`, /WRONGPASS/],
      [`redis://127.0.0.1:${port}`, /NOAUTH/],
      [downUrl, /ECONNREFUSED/],
      // A database number Redis does not have: ioredis would carry on in database 0.
      [Object.assign(new URL(testRedisUrl), { pathname: '/99' }).href, /DB index is out of range/],
    ] as const) {
      const lines: Array<{ msg: string; level: number }> = [];
      const logger = pino(
        { level: 'info' },
        { write: (line: string) => lines.push(JSON.parse(line) as { msg: string; level: number }) },
      );
      const redis = openRedis(configSchema.parse({ redis: { url } }), logger)!;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(redis.up).toBe(false);
      const said = lines.filter((line) => line.msg.startsWith('Redis cannot be used'));
      expect(said, url).toHaveLength(1);
      expect(said[0]!.msg).toMatch(why);
      expect(said[0]!.msg).toMatch(/check redis\.url/);
      await redis.close();
    }
  });
});

describe('a Redis that stops answering without closing the connection', () => {
  it('is marked down within seconds, and up again once it answers', async () => {
    // A proxy that can hold every byte, as a partition does (no reset, no close; TCP delivers
    // what was held once the network heals).
    let held = false;
    const waiting: Array<() => void> = [];
    const release = () => {
      held = false;
      for (const send of waiting.splice(0)) send();
    };
    const sockets: Socket[] = [];
    const target = new URL(testRedisUrl);
    const proxy = createServer((client) => {
      const server = netConnect(Number(target.port || 6379), target.hostname);
      sockets.push(client, server);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk: Buffer) => {
          if (held) waiting.push(() => to.write(chunk));
          else to.write(chunk);
        });
      forward(client, server);
      forward(server, client);
      client.on('error', () => undefined).on('close', () => server.destroy());
      server.on('error', () => undefined).on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const redis = openRedis(
      configSchema.parse({ redis: { url: `redis://127.0.0.1:${port}`, key_prefix: testPrefix() } }),
      logger,
    )!;
    try {
      const until = async (check: () => boolean, ms: number) => {
        for (let waited = 0; !check(); waited += 50) {
          if (waited > ms) throw new Error(`not within ${ms} ms`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      await until(() => redis.up, 5_000);
      held = true;
      await until(() => !redis.up, 4_000);
      expect(lines.join('')).toContain('Redis does not answer');
      release();
      await until(() => redis.up, 4_000);
      expect(lines.join('')).toContain('Redis answers again');
    } finally {
      await redis.close().catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      proxy.close();
    }
  }, 20_000);
});

describe('locks and the reload channel', () => {
  const config = (prefix: string) =>
    configSchema.parse({ redis: { url: testRedisUrl, key_prefix: prefix } });
  const logger = pino({ level: 'silent' });

  it('let one replica of several run a job, and tell the others about reloads', async () => {
    const prefix = testPrefix();
    const replicas = await Promise.all(
      [0, 1, 2].map(() => openSharedState({ config: config(prefix), logger, cipher })),
    );
    for (let waited = 0; replicas.some((r) => !r.redis!.up) && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    let runs = 0;
    const results = await Promise.all(
      replicas.map((replica) =>
        replica.exclusive('job', 10_000, async () => {
          runs += 1;
          await new Promise((resolve) => setTimeout(resolve, 100));
          return 'done';
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((result) => result === 'done')).toHaveLength(1);
    // Released: the next one runs.
    expect(await replicas[1]!.exclusive('job', 10_000, () => Promise.resolve('again'))).toBe(
      'again',
    );

    const heard: string[][] = replicas.map(() => []);
    replicas.forEach((replica, index) => replica.onAnnounce((kind) => heard[index]!.push(kind)));
    // Every replica's subscriber connection is subscribed before anything is announced.
    const channel = `${replicas[0]!.redis!.prefix}reload`;
    const subscribers = async () =>
      Number((await replicas[0]!.redis!.client.pubsub('NUMSUB', channel))[1]);
    for (let waited = 0; (await subscribers()) < 3 && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    replicas[0]!.announce('policies');
    expect(await announceReload(config(prefix), logger, 'keys')).toBe(true);
    // Each replica reads its own socket: wait for all of them, not just the last one.
    const expected = [1, 2, 2];
    for (
      let waited = 0;
      heard.some((kinds, index) => kinds.length < expected[index]!) && waited < 5_000;
      waited += 20
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The announcer does not hear itself; the CLI's message reaches every replica.
    expect(heard).toEqual([['keys'], ['policies', 'keys'], ['policies', 'keys']]);
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it('hold a lock as a lease renewed while the work runs, which lapses when its holder dies', async () => {
    const prefix = testPrefix();
    const [holder, other] = await Promise.all(
      [0, 1].map(() => openSharedState({ config: config(prefix), logger, cipher })),
    );
    for (let waited = 0; !(holder!.redis!.up && other!.redis!.up) && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const leaseMs = 300;
    let release!: () => void;
    const running = holder!.exclusive(
      'job',
      leaseMs,
      () => new Promise<string>((resolve) => (release = () => resolve('held'))),
    );
    // Three leases later the work still runs, and the lock is still its holder's.
    await new Promise((resolve) => setTimeout(resolve, 3 * leaseMs));
    expect(await other!.exclusive('job', leaseMs, () => Promise.resolve('taken'))).toBeUndefined();
    release();
    expect(await running).toBe('held');

    // A holder that dies (its connections gone, its work never ending) stops renewing.
    void holder!.exclusive('job', leaseMs, () => new Promise<never>(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await other!.exclusive('job', leaseMs, () => Promise.resolve('taken'))).toBeUndefined();
    holder!.redis!.client.disconnect();
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 100));
    expect(await other!.exclusive('job', leaseMs, () => Promise.resolve('taken'))).toBe('taken');
    await Promise.all([holder!.close(), other!.close()]);
  });
});
