import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/fake-upstream.js';
import { findLeaks, Harness, testApiKey } from '../../test/support/harness.js';
import { demoModelId, demoScript } from '../providers/index.js';
import { writeTinyModel } from '../providers/tiny-model/tiny-model.js';

let harness: Harness;

beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});

type ErrorBody = { error: { message: string; type: string; code: string; param: string | null } };
const hello = { messages: [{ role: 'user', content: 'hi' }] };

describe('health and readiness', () => {
  it('answers GET and HEAD /health without a token, revealing nothing', async () => {
    const get = await harness.request('/health', { principal: null });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ status: 'ok' });
    const head = await harness.request('/health', { principal: null, method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('is ready when the store and the default model answer', async () => {
    const ready = await harness.json('/ready', { principal: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      components: { store: { ok: true }, model: { ok: true } },
    });
  });
});

describe('authentication', () => {
  it('needs a bearer token everywhere else', async () => {
    for (const path of ['/v1/chat', '/v1/models', '/v1/conversations', '/v1/no-such-route']) {
      const response = await harness.json<ErrorBody>(path, { principal: null });
      expect(response.status, path).toBe(401);
      expect(response.body.error).toMatchObject({
        code: 'missing_token',
        type: 'authentication_error',
      });
    }
    const bad = await harness.json<ErrorBody>('/v1/models', {
      principal: null,
      headers: { authorization: 'Bearer asd_nope' },
    });
    expect(bad.body.error.code).toBe('invalid_token');
  });

  it('accepts a token issued offline while the server runs', async () => {
    const response = await harness.json('/v1/models', { principal: 'offline-user' });
    expect(response.status).toBe(200);
  });
});

describe('access control off (benchmarks only)', () => {
  it('cannot be set from a config file', async () => {
    const { configSchema } = await import('../config/schema.js');
    expect(configSchema.safeParse({ access_control: 'off' }).success).toBe(false);
    expect(configSchema.safeParse({ security: { access_control: 'off' } }).success).toBe(false);
  });

  it('serves without a token, as an administrator, and says so in the log', async () => {
    const open = await Harness.start({
      accessControl: 'off',
      config: { audit: { enabled: false } },
    });
    try {
      const models = await open.request('/v1/models', { principal: null });
      expect(models.status).toBe(200);
      const chat = await open.json<{ message: { content: string } }>('/v1/chat', {
        principal: null,
        body: hello,
      });
      expect(chat.status).toBe(200);
      // Public routes stay public; unknown routes are still 404.
      expect((await open.request('/health', { principal: null })).status).toBe(200);
      expect((await open.request('/v1/nope', { principal: null })).status).toBe(404);
      expect(open.logs()).toContain('access control is OFF');
    } finally {
      await open.close();
    }
  });
});

describe('client mistakes are 4xx in the OpenAI error shape', () => {
  const cases: Array<[string, string | undefined, number, string]> = [
    ['malformed JSON', '{"messages": [', 400, 'invalid_json'],
    ['no body', undefined, 400, 'invalid_request'],
    ['a JSON array', '[1,2]', 400, 'invalid_request'],
    ['an unknown field', JSON.stringify({ ...hello, colour: 'red' }), 400, 'invalid_request'],
    ['empty messages', JSON.stringify({ messages: [] }), 400, 'invalid_request'],
    ['a wrong type', JSON.stringify({ ...hello, temperature: 'hot' }), 400, 'invalid_request'],
    [
      'an unsupported part',
      JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }),
      400,
      'unsupported_content',
    ],
    [
      'an unknown conversation',
      JSON.stringify({ ...hello, conversation_id: 'conv_missing' }),
      404,
      'conversation_not_found',
    ],
    [
      'a body over 1 MiB',
      JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] }),
      413,
      'body_too_large',
    ],
  ];

  it.each(cases)('%s', async (_name, body, status, code) => {
    const response = await harness.request('/v1/chat', {
      method: 'POST',
      body,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(status);
    const json = (await response.json()) as ErrorBody;
    expect(Object.keys(json)).toEqual(['error']);
    expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(10);
  });

  it('names unknown routes', async () => {
    const response = await harness.json<ErrorBody>('/v1/nope');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({
      code: 'route_not_found',
      message: 'No route GET /v1/nope.',
    });
  });

  it('answers router errors in the same shape (found by the fuzzer: Fastify wrote its own)', async () => {
    const long = await harness.json<ErrorBody>(`/v1/conversations/${'x'.repeat(5000)}`);
    expect(long.status).toBe(414);
    expect(long.body.error).toMatchObject({
      code: 'path_too_long',
      type: 'invalid_request_error',
    });
    const malformed = await harness.json<ErrorBody>('/v1/conversations/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_path');
    // They skip every hook, yet each is in the audit log like any other call.
    const recorded = async (status: number) => {
      const audit = await harness.json<{ data: Array<{ error: string | null }> }>(
        `/admin/audit?status=${status}&limit=1000`,
      );
      return audit.body.data.map((record) => record.error);
    };
    await eventually(
      async () =>
        (await recorded(414)).includes('path_too_long') &&
        (await recorded(400)).includes('invalid_path'),
    );
  });

  it('keeps the caller’s request id when it is plain, and makes one otherwise', async () => {
    const kept = await harness.request('/health', {
      principal: null,
      headers: { 'x-request-id': 'trace-42' },
    });
    expect(kept.headers.get('x-request-id')).toBe('trace-42');
    const replaced = await harness.request('/health', {
      principal: null,
      headers: { 'x-request-id': 'bad id\twith tab' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('models', () => {
  it('lists the configured model as the default', async () => {
    const response = await harness.json<{ data: Array<Record<string, unknown>> }>('/v1/models');
    expect(response.body.data).toEqual([
      {
        id: 'gpt-4o-mini',
        object: 'model',
        created: 0,
        owned_by: 'openai-compatible',
        available: true,
        default: true,
        // upstream.accepts_images defaults to false, accepts_tools and accepts_response_format
        // to true.
        capabilities: { images: false, tools: true, json_output: true },
      },
    ]);
  });
});

describe('logs', () => {
  it('hold one line per request and no token or key', async () => {
    await harness.request('/v1/chat', { body: hello, headers: { 'x-request-id': 'log-check' } });
    const logs = harness.logs();
    const line = logs
      .split('\n')
      .find((entry) => entry.includes('"reqId":"log-check"') && entry.includes('"msg":"request"'));
    expect(JSON.parse(line!)).toMatchObject({ route: '/v1/chat', status: 200, principal: 'admin' });
    expect(logs).not.toContain(testApiKey);
    expect(logs).not.toContain(harness.adminToken);
    expect(logs).not.toMatch(/asd_[0-9a-f]{16}_/);
  });

  it('are checked by every harness on close for tokens, keys and message text', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    const lines = [
      '{"msg":"request","principal":"admin"}',
      `{"msg":"oops","authorization":"Bearer ${harness.adminToken}"}`,
      '{"msg":"key","pem":"-----BEGIN PRIVATE KEY-----"}',
      `{"msg":"jwt","token":"${jwt}"}`,
      '{"msg":"echo","text":"say \\"secret plan\\" now"}',
    ];
    const leaks = findLeaks(lines.join('\n'), [harness.adminToken, 'say "secret plan" now']);
    expect(leaks.map((leak) => /line (\d+)/.exec(leak)![1])).toEqual(['2', '3', '4', '5']);
  });
});

describe('without a model', () => {
  let bare: Harness;
  beforeAll(async () => {
    bare = await Harness.start({ noEndpoint: true, config: { local_model: { demo: false } } });
  });
  afterAll(async () => {
    await bare.close();
  });

  it('answers 503 model_not_configured with how to configure one, and is not ready', async () => {
    for (const path of ['/v1/chat', '/v1/chat/completions']) {
      const response = await bare.json<ErrorBody>(path, { body: hello });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('model_not_configured');
      expect(response.body.error.message).toContain('--model-endpoint');
    }
    const ready = await bare.json<{ components: { model: { ok: boolean; reason: string } } }>(
      '/ready',
      { principal: null },
    );
    expect(ready.status).toBe(503);
    expect(ready.body.components.model).toEqual({ ok: false, reason: 'no model is configured' });
  });
});

describe('with a local model path and an endpoint', () => {
  let both: Harness;
  beforeAll(async () => {
    const modelDir = join(tmpdir(), `assistd-model-${process.pid}`, 'llama3-7b');
    mkdirSync(modelDir, { recursive: true });
    await writeTinyModel(join(modelDir, 'model.gguf'), { script: 'Local answer.' });
    both = await Harness.start({ config: { model_path: modelDir } });
  });
  afterAll(async () => {
    await both.close();
  });

  it('lists both under their names, defaults to the endpoint, and serves each', async () => {
    const models = await both.json<{
      data: Array<{ id: string; available: boolean; default: boolean }>;
    }>('/v1/models');
    expect(models.body.data.map((m) => [m.id, m.available, m.default])).toEqual([
      ['gpt-4o-mini', true, true],
      ['llama3-7b', true, false],
    ]);
    const local = await waitForModel(both, 'llama3-7b');
    expect(local.status).toBe(200);
    expect(local.body).toMatchObject({ model: 'llama3-7b', message: { content: 'Local answer.' } });
    expect((await both.json('/v1/chat', { body: hello })).status).toBe(200);
  });
});

describe('with no model configured', () => {
  let demo: Harness;
  beforeAll(async () => {
    demo = await Harness.start({ noEndpoint: true });
  });
  afterAll(async () => {
    await demo.close();
  });

  it('serves the demo model, which says what it is and how to configure a real one', async () => {
    const models = await demo.json<{ data: Array<{ id: string; description: string }> }>(
      '/v1/models',
    );
    expect(models.body.data).toEqual([
      expect.objectContaining({
        id: demoModelId,
        default: true,
        owned_by: 'llama-cpp',
        capabilities: { images: false, tools: true, json_output: true },
      }),
    ]);
    expect(models.body.data[0]!.description).toMatch(/canned.*--model-path.*--model-endpoint/s);
    const answer = await waitForModel(demo, demoModelId);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ model: demoModelId, message: { content: demoScript } });
    expect(demo.logs()).toContain('serving the demo model');
    // The 503s while it loaded are a passing state, not failures of the server.
    const loading = demo
      .logs()
      .split('\n')
      .filter((line) => line.includes('"code":"model_loading"'));
    expect(loading.filter((line) => !line.includes('"level":40'))).toEqual([]);
  });
});

/** Chats with a local model, waiting (503 model_loading) until it has loaded. */
async function waitForModel(harness: Harness, model: string) {
  for (let attempt = 0; ; attempt++) {
    const response = await harness.json<{ model: string; message: { content: string } }>(
      '/v1/chat',
      { body: { ...hello, model } },
    );
    if (response.status !== 503 || attempt > 200) return response;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('readiness follows the endpoint', () => {
  it('turns 503 when the endpoint is down, naming the component', async () => {
    const down = await Harness.start({ config: { model_endpoint: 'http://127.0.0.1:9' } });
    try {
      const ready = await down.json<{
        status: string;
        components: { store: { ok: boolean }; model: { ok: boolean; reason: string } };
      }>('/ready', { principal: null });
      expect(ready.status).toBe(503);
      expect(ready.body.components.store.ok).toBe(true);
      expect(ready.body.components.model.ok).toBe(false);
      expect(ready.body.components.model.reason).toContain('unreachable');
    } finally {
      await down.close();
    }
  });
});
