import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedKeyFileName } from '../../src/security/crypto/index.js';
import { runCliCaptured } from '../support/cli.js';
import { Harness } from '../support/harness.js';
import { dropTestSchemas, testDatabaseUrl, testSchema } from '../support/postgres.js';
import { PrivatePostgres } from '../support/private-postgres.js';

interface ChatBody {
  conversation_id: string;
  message: { content: string };
}
interface ErrorBody {
  error: { code: string; type: string };
}

const hello = (text: string, conversation?: string) => ({
  messages: [{ role: 'user', content: text }],
  ...(conversation ? { conversation_id: conversation } : {}),
});

async function cli(harness: Harness, args: string[]) {
  const run = await runCliCaptured([...args, ...harness.cliArgs()], {
    cwd: harness.dataDir,
    env: harness.cliEnv(),
  });
  return { ...run, stdout: run.stdout.trim() };
}

afterAll(dropTestSchemas);

describe('a server on PostgreSQL', () => {
  let harness: Harness;
  const schema = testSchema('server');
  beforeAll(async () => {
    harness = await Harness.start({ config: { database: { url: testDatabaseUrl, schema } } });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('stores conversations there, encrypted, and continues them', async () => {
    const secret = `pg-secret-${Date.now()}`;
    const first = await harness.json<ChatBody>('/v1/chat', { body: hello(secret) });
    expect(first.status).toBe(200);
    const id = first.body.conversation_id;
    const second = await harness.json<ChatBody>('/v1/chat', { body: hello('again', id) });
    expect(second.status).toBe(200);
    const read = await harness.json<{ messages: { role: string; content: unknown }[] }>(
      `/v1/conversations/${id}`,
    );
    expect(read.body.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(read.body.messages[0]!.content).toBe(secret);

    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    const { rows } = await client.query<{ content: string }>(
      `SELECT content FROM ${schema}.messages WHERE conversation_id = $1 ORDER BY seq`,
      [id],
    );
    await client.end();
    expect(rows).toHaveLength(4);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('takes tokens issued and revoked by the CLI against the same database', async () => {
    const issued = await cli(harness, ['tokens', 'issue', '--principal', 'pg-user@example.com']);
    expect(issued.code, issued.stderr).toBe(0);
    const headers = { authorization: `Bearer ${issued.stdout}` };
    expect((await harness.request('/v1/models', { principal: null, headers })).status).toBe(200);
    const jti = /issued token (\S+) for/.exec(issued.stderr)![1]!;
    expect((await cli(harness, ['tokens', 'revoke', jti])).code).toBe(0);
    const revoked = await harness.json<ErrorBody>('/v1/models', { principal: null, headers });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('token_revoked');
  });

  it('answers a NUL character in an id or a filter with 400, not 500', async () => {
    const principal = 'nul@example.com';
    for (const [path, init] of [
      ['/v1/conversations/conv_ab%00cd', {}],
      ['/v1/conversations/conv_ab%00cd', { method: 'DELETE' }],
      ['/v1/conversations/conv_ab%00cd', { method: 'PATCH', body: { title: 'x' } }],
      [
        '/v1/chat',
        {
          method: 'POST',
          body: { conversation_id: 'conv_\u0000x', messages: [{ role: 'user', content: 'hi' }] },
        },
      ],
    ] as const) {
      const response = await harness.json<{ error: { code: string } }>(path, {
        principal,
        ...init,
      });
      expect(response.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(500);
      expect(response.status).toBeGreaterThanOrEqual(400);
    }
    for (const query of ['action=a%00b', 'principal=%00']) {
      const response = await harness.json<{ error: { code: string } }>(`/admin/audit?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
  });

  it('keeps a verifiable audit chain there', async () => {
    const verified = await cli(harness, ['audit', 'verify']);
    expect(verified.stdout).toMatch(/audit log: \d+ records/);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});

describe('two replicas sharing one PostgreSQL schema', () => {
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    const database = { url: testDatabaseUrl, schema: testSchema('replicas') };
    a = await Harness.start({ config: { database } });
    // The replicas share the master key, as pods share a mounted secret.
    const master_key_file = join(a.dataDir, generatedKeyFileName);
    b = await Harness.start({ config: { database, security: { master_key_file } } });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('continue each other’s conversations and accept each other’s tokens', async () => {
    const started = await a.json<ChatBody>('/v1/chat', { body: hello('on a') });
    expect(started.status).toBe(200);
    const id = started.body.conversation_id;
    const issued = await cli(a, ['tokens', 'issue', '--principal', 'admin', '--group', 'admin']);
    expect(issued.code, issued.stderr).toBe(0);
    const continued = await b.json<ChatBody>('/v1/chat', {
      principal: null,
      headers: { authorization: `Bearer ${issued.stdout}` },
      body: hello('on b', id),
    });
    expect(continued.status).toBe(200);
    const read = await a.json<{ messages: unknown[] }>(`/v1/conversations/${id}`);
    expect(read.body.messages).toHaveLength(4);
  });
});

describe('PostgreSQL going down and coming back', () => {
  let cluster: PrivatePostgres;
  let harness: Harness;
  beforeAll(async () => {
    cluster = await PrivatePostgres.create();
    harness = await Harness.start({
      config: { database: { url: cluster.url, connect_timeout_ms: 1000 } },
    });
  }, 60_000);
  afterAll(async () => {
    await harness.close();
    await cluster.destroy();
  });

  async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return Date.now() - started;
  }

  for (const mode of ['fast', 'immediate'] as const) {
    it(`answers 503 store_unavailable while it is down (${mode} stop), and recovers without a restart`, async () => {
      const before = await harness.json<ChatBody>('/v1/chat', { body: hello('before') });
      expect(before.status).toBe(200);

      await cluster.stop(mode);
      const ready = await harness.json<{ components: { store: { ok: boolean } } }>('/ready', {
        principal: null,
      });
      expect(ready.status).toBe(503);
      expect(ready.body.components.store.ok).toBe(false);
      for (const body of [hello('while down'), hello('continued', before.body.conversation_id)]) {
        const down = await harness.json<ErrorBody>('/v1/chat', { body });
        expect(down.status).toBe(503);
        expect(down.body.error.code).toBe('store_unavailable');
      }

      await cluster.start();
      await until(
        async () => (await harness.request('/ready', { principal: null })).status === 200,
        15_000,
      );
      const after = await harness.json<ChatBody>('/v1/chat', {
        body: hello('after', before.body.conversation_id),
      });
      expect(after.status).toBe(200);
      const read = await harness.json<{ messages: unknown[] }>(
        `/v1/conversations/${before.body.conversation_id}`,
      );
      expect(read.body.messages).toHaveLength(4);
    }, 60_000);
  }
});
