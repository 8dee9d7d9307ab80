import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedKeyFileName } from '../../src/security/crypto/index.js';
import { runCliCaptured } from '../support/cli.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';
import { dropTestSchemas, testDatabaseUrl, testSchema } from '../support/postgres.js';
import { PrivateRedis, testPrefix, testRedisUrl } from '../support/redis.js';

interface ChatBody {
  conversation_id: string;
}
interface ErrorBody {
  error: { code: string };
}

const say = (text: string, conversation?: string) => ({
  messages: [{ role: 'user', content: text }],
  ...(conversation ? { conversation_id: conversation } : {}),
});

/** The user texts of the last prompt the upstream received. */
function lastPrompt(upstream: FakeUpstream): string[] {
  const body = upstream.chatRequests.at(-1)!.body as {
    messages: { role: string; content: string }[];
  };
  return body.messages.filter((message) => message.role === 'user').map((m) => m.content);
}

afterAll(dropTestSchemas);

describe('two replicas sharing PostgreSQL and Redis', () => {
  let upstream: FakeUpstream;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    upstream = await FakeUpstream.start();
    const shared = {
      database: { url: testDatabaseUrl, schema: testSchema('redis') },
      redis: { url: testRedisUrl, key_prefix: testPrefix() },
      limits: { requests_per_minute: 60, request_burst: 6 },
    };
    a = await Harness.start({ upstream, config: shared });
    const master_key_file = join(a.dataDir, generatedKeyFileName);
    b = await Harness.start({ upstream, config: { ...shared, security: { master_key_file } } });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await upstream.close();
  });

  it('give the model every turn when a conversation moves between them', async () => {
    const principal = 'mover@example.com';
    const first = await a.json<ChatBody>('/v1/chat', { principal, body: say('one') });
    const id = first.body.conversation_id;
    expect((await b.json('/v1/chat', { principal, body: say('two', id) })).status).toBe(200);
    expect(lastPrompt(upstream)).toEqual(['one', 'two']);
    // a cached the conversation after "one"; the store says b added a turn since.
    expect((await a.json('/v1/chat', { principal, body: say('three', id) })).status).toBe(200);
    expect(lastPrompt(upstream)).toEqual(['one', 'two', 'three']);
    expect((await b.json('/v1/chat', { principal, body: say('four', id) })).status).toBe(200);
    expect(lastPrompt(upstream)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('share one request budget per principal', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 8; index++) {
      const replica = index % 2 === 0 ? a : b;
      statuses.push(
        (await replica.request('/v1/models', { principal: 'budget@example.com' })).status,
      );
    }
    // A burst of 6 across both replicas, not 6 each.
    expect(statuses.filter((status) => status === 200)).toHaveLength(6);
    expect(statuses.slice(6)).toEqual([429, 429]);
  });
});

describe('a key retired from the CLI', () => {
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    const shared = {
      database: { url: testDatabaseUrl, schema: testSchema('retire') },
      redis: { url: testRedisUrl, key_prefix: testPrefix() },
    };
    a = await Harness.start({ config: shared });
    const master_key_file = join(a.dataDir, generatedKeyFileName);
    b = await Harness.start({ config: { ...shared, security: { master_key_file } } });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('fails its tokens at once on every replica (announced through Redis)', async () => {
    const issued = await runCliCaptured(
      ['tokens', 'issue', '--principal', 'k@example.com', ...a.cliArgs()],
      { cwd: a.dataDir, env: a.cliEnv() },
    );
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    const headers = { authorization: `Bearer ${token}` };
    for (const replica of [a, b]) {
      expect((await replica.request('/v1/models', { principal: null, headers })).status).toBe(200);
    }
    const kid = (
      JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as {
        kid: string;
      }
    ).kid;
    const retired = await runCliCaptured(['keys', 'retire', kid, ...b.cliArgs()], {
      cwd: b.dataDir,
      env: b.cliEnv(),
    });
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stderr).not.toContain('warning');
    const started = Date.now();
    for (const replica of [a, b]) {
      for (;;) {
        const status = (await replica.request('/v1/models', { principal: null, headers })).status;
        if (status === 401) break;
        expect(Date.now() - started).toBeLessThan(5_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
});

describe('Redis going down and coming back', () => {
  let redis: PrivateRedis;
  let harness: Harness;
  beforeAll(async () => {
    redis = await PrivateRedis.create();
    harness = await Harness.start({
      config: {
        redis: { url: redis.url, key_prefix: testPrefix(), rate_limit_on_failure: 'local' },
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    await redis.stop();
  });

  async function redisUp(): Promise<string | undefined> {
    const metrics = await (await harness.request('/metrics')).text();
    return /^assistd_redis_up\{role="shared_state"\} (\d)/m.exec(metrics)?.[1];
  }

  async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('keeps serving on this replica’s own state, says so in a metric, and resumes by itself', async () => {
    await until(async () => (await redisUp()) === '1', 5_000);
    const started = await harness.json<ChatBody>('/v1/chat', { body: say('before') });
    expect(started.status).toBe(200);

    await redis.stop();
    await until(async () => (await redisUp()) === '0', 5_000);
    const during = await harness.json<ChatBody>('/v1/chat', {
      body: say('during', started.body.conversation_id),
    });
    expect(during.status).toBe(200);
    // Ready still: this replica serves from its own state, and says so.
    const ready = await harness.json<{ components: Record<string, unknown> }>('/ready', {
      principal: null,
    });
    expect(ready.status).toBe(200);
    expect(ready.body.components.shared_state).toEqual({
      ok: true,
      reason: 'Redis does not answer: this replica serves from its own state',
    });
    const metrics = await (await harness.request('/metrics')).text();
    expect(metrics).toMatch(/^assistd_redis_fallbacks_total\{feature="rate_limit"\} [1-9]/m);
    expect(harness.logs()).toContain('Redis connection lost');

    await redis.start();
    await until(async () => (await redisUp()) === '1', 10_000);
    const after = await harness.json<ChatBody | ErrorBody>('/v1/chat', {
      body: say('after', started.body.conversation_id),
    });
    expect(after.status).toBe(200);
    expect(harness.logs()).toContain('Redis is back');
  }, 30_000);
});

describe('Redis down with rate_limit_on_failure: closed', () => {
  it('is not ready, since every request is refused', async () => {
    const harness = await Harness.start({
      config: {
        redis: {
          url: 'redis://127.0.0.1:1',
          key_prefix: testPrefix(),
          rate_limit_on_failure: 'closed',
        },
      },
    });
    try {
      const ready = await harness.json<{
        status: string;
        components: Record<string, { ok: boolean }>;
      }>('/ready', { principal: null });
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not_ready');
      expect(ready.body.components.shared_state).toMatchObject({ ok: false });
      const refused = await harness.json<ErrorBody>('/v1/models');
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('rate_limit_unavailable');
    } finally {
      await harness.close();
    }
  });
});
