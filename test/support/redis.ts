import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { openRedis, type SharedRedis } from '../../src/cache/redis.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';

/** The machine's Redis (`.ci/run` starts it when it is down). */
export const testRedisUrl = process.env.ASSISTD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test uses, so tests share one Redis without seeing each other. */
export function testPrefix(): string {
  return `assistd-test-${randomBytes(4).toString('hex')}:`;
}

/** A `SharedRedis` as the server makes it, once connected (`wait` false: at once). */
export async function connectRedis(
  url: string,
  prefix: string,
  options: { redis?: Partial<NonNullable<ConfigInput['redis']>>; wait?: boolean } = {},
): Promise<SharedRedis> {
  const config = configSchema.parse({ redis: { url, key_prefix: prefix, ...options.redis } });
  const shared = openRedis(config, pino({ level: 'silent' }))!;
  if (options.wait === false) return shared;
  for (let waited = 0; !shared.up && waited < 5_000; waited += 20) await sleep(20);
  return shared;
}

/**
 * A redis-server of its own on a free port, which a test may stop and start without touching the
 * machine's Redis that other tests use.
 */
export class PrivateRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async create(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let waited = 0; waited < 5_000; waited += 20) {
      if (await listening(this.port)) return;
      await sleep(20);
    }
    throw new Error('redis-server did not start');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createServer();
    socket.once('error', () => resolve(true));
    socket.listen(port, '127.0.0.1', () => socket.close(() => resolve(false)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
