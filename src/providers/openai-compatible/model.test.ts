import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  eventually,
  FakeUpstream,
  fixture,
  recordedToolCalls,
  sseEvents,
} from '../../../test/support/fake-upstream.js';
import { AppError } from '../../errors.js';
import { ProviderError } from '../provider-error.js';
import type { ChatRequest, StreamPart } from '../types.js';
import {
  discoverModelName,
  finishGraceMs,
  OpenAICompatibleModel,
  type OpenAICompatibleOptions,
} from './model.js';

const apiKey = 'sk-test-SECRETKEY-123';
const request: ChatRequest = { messages: [{ role: 'user', content: '你好' }], temperature: 0.7 };
let upstream: FakeUpstream;
let logText = '';

const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logText += chunk.toString();
      callback();
    },
  }),
);

function model(overrides: Partial<OpenAICompatibleOptions> = {}): OpenAICompatibleModel {
  return new OpenAICompatibleModel({
    url: upstream.url,
    apiKey,
    modelName: 'gpt-4o-mini',
    maxConnections: 4,
    connectTimeoutMs: 1000,
    firstByteTimeoutMs: 2000,
    idleTimeoutMs: 2000,
    allowHosts: [],
    totalTimeoutMs: 60_000,
    capabilities: { images: false, contextWindow: 8192 },
    retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 2000, random: () => 0.5 },
    logger,
    ...overrides,
  });
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const all: StreamPart[] = [];
  for await (const part of parts) all.push(part);
  return all;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  upstream = await FakeUpstream.start();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
});

describe('openai-compatible provider: answers', () => {
  it('sends the request with the key and parses a recorded completion', async () => {
    const result = await model().generate(request, signal());
    expect(result).toEqual({
      text: '你好！有什么可以帮你的吗？',
      finishReason: 'stop',
      usage: { promptTokens: 9, completionTokens: 10, totalTokens: 19 },
    });
    const sent = upstream.chatRequests[0]!;
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      messages: request.messages,
      temperature: 0.7,
      stream: false,
    });
  });

  it('streams a recorded OpenAI stream part by part, with usage', async () => {
    const parts = await collect(model().stream(request, signal()));
    expect(parts).toEqual([
      { type: 'text-delta', text: '你好' },
      { type: 'text-delta', text: '！有什么' },
      { type: 'text-delta', text: '可以帮你的吗？' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: { promptTokens: 9, completionTokens: 10, totalTokens: 19 },
      },
    ]);
    expect(upstream.chatRequests[0]!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('parses recorded tool calls, whole and streamed piece by piece', async () => {
    upstream.enqueue({ kind: 'json', fixture: 'tool-calls.json' });
    const result = await model().generate(request, signal());
    expect(result.finishReason).toBe('tool_calls');
    expect(result.text).toBe('');
    expect(result.toolCalls).toEqual(recordedToolCalls);

    upstream.enqueue({ kind: 'sse', fixture: 'tool-calls.sse' });
    const parts = await collect(model().stream(request, signal()));
    const piece = (index: number, args: string) => ({
      type: 'tool-call-delta',
      index,
      id: undefined,
      name: undefined,
      arguments: args,
    });
    expect(parts).toEqual([
      { ...piece(0, ''), id: 'call_3bcBW0EcDxiX9lM5c9P0LyNu', name: 'get_weather' },
      piece(0, '{"ci'),
      piece(0, 'ty":"Pa'),
      piece(0, 'ris"}'),
      { ...piece(1, ''), id: 'call_Qb1m3U3vQHkNrd7R1OJdGB8T', name: 'get_weather' },
      piece(1, '{"city"'),
      piece(1, ':"北京"}'),
      {
        type: 'finish',
        finishReason: 'tool_calls',
        usage: { promptTokens: 82, completionTokens: 49, totalTokens: 131 },
      },
    ]);
  });

  it('sends tool calls and results in OpenAI’s shape, and numbers a call sent without an index', async () => {
    const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    upstream.enqueue({
      kind: 'sse',
      events: [
        `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [{ id: 'c2', function: { name: 'g', arguments: '{}' } }] } }] })}\n\n`,
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'function_call' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(
      model().stream(
        {
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: '', toolCalls: [call] },
            { role: 'tool', content: '42', toolCallId: 'c1' },
          ],
          tools: [{ type: 'function', function: { name: 'f' } }],
          toolChoice: 'required',
          responseFormat: { type: 'json_object' },
        },
        signal(),
      ),
    );
    expect(parts[0]).toEqual({
      type: 'tool-call-delta',
      index: 0,
      id: 'c2',
      name: 'g',
      arguments: '{}',
    });
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
    expect(upstream.chatRequests[0]!.body).toMatchObject({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', content: '42', tool_call_id: 'c1' },
      ],
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: 'required',
      response_format: { type: 'json_object' },
    });
  });

  it('numbers calls sent whole without an index apart by their ids, and gives id-less calls one', async () => {
    const piece = (call: object) =>
      `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [call] } }] })}\n\n`;
    upstream.enqueue({
      kind: 'sse',
      events: [
        piece({ id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }),
        piece({ id: 'b', type: 'function', function: { name: 'g', arguments: '{"y"' } }),
        // The same call again, its head repeated (some endpoints do): a continuation.
        piece({ id: 'b', function: { name: 'g', arguments: ':2}' } }),
        piece({ function: { arguments: '' } }),
        piece({ index: 7, function: { name: 'h', arguments: '{}' } }),
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    const calls = parts.filter((part) => part.type === 'tool-call-delta');
    expect(calls.slice(0, 4)).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'a', name: 'f', arguments: '{"x":1}' },
      { type: 'tool-call-delta', index: 1, id: 'b', name: 'g', arguments: '{"y"' },
      { type: 'tool-call-delta', index: 1, id: undefined, name: undefined, arguments: ':2}' },
      { type: 'tool-call-delta', index: 1, id: undefined, name: undefined, arguments: '' },
    ]);
    expect(calls[4]).toMatchObject({
      index: 2,
      name: 'h',
      id: expect.stringMatching(/^call_[\w-]{16}$/),
    });

    upstream.enqueue({
      kind: 'json',
      body: {
        choices: [
          {
            message: { content: null, tool_calls: [{ function: { name: 'f', arguments: '{}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
    });
    const whole = await model().generate(request, signal());
    expect(whole.toolCalls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'f', arguments: '{}' },
      },
    ]);
  });

  it('reads the deprecated function_call as one tool call, whole and streamed', async () => {
    upstream.enqueue({
      kind: 'json',
      body: {
        choices: [
          {
            message: { content: null, function_call: { name: 'f', arguments: '{}' } },
            finish_reason: 'function_call',
          },
        ],
      },
    });
    const whole = await model().generate(request, signal());
    expect(whole).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }],
    });
    const delta = (functionCall: object) =>
      `data: ${JSON.stringify({ choices: [{ delta: { function_call: functionCall } }] })}\n\n`;
    upstream.enqueue({
      kind: 'sse',
      events: [
        delta({ name: 'f', arguments: '' }),
        delta({ arguments: '{"a"' }),
        delta({ arguments: ':1}' }),
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'function_call' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    const calls = parts.filter((part) => part.type === 'tool-call-delta');
    expect(calls.map((part) => [part.index, part.name, part.arguments])).toEqual([
      [0, 'f', ''],
      [0, undefined, '{"a"'],
      [0, undefined, ':1}'],
    ]);
    expect(calls[0]!.id).toMatch(/^call_/);
  });

  it('refuses a streamed call that never gets a name, as it refuses one sent whole', async () => {
    upstream.enqueue({
      kind: 'sse',
      events: [
        `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [{ index: 0, id: 'a', function: { arguments: '{}' } }] } }] })}\n\n`,
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_bad_response' } });
  });

  it('keeps both a function_call and tool_calls sent in one delta', async () => {
    upstream.enqueue({
      kind: 'sse',
      events: [
        `data: ${JSON.stringify({
          choices: [
            {
              delta: {
                function_call: { name: 'f', arguments: '{}' },
                tool_calls: [{ index: 0, id: 'b', function: { name: 'g', arguments: '{}' } }],
              },
            },
          ],
        })}\n\n`,
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    const names = parts.flatMap((part) => (part.type === 'tool-call-delta' ? [part.name] : []));
    expect(names.sort()).toEqual(['f', 'g']);
  });

  it('counts tool-call names and ids toward the bound on a streamed answer', async () => {
    const name = 'n'.repeat(1024 * 1024);
    upstream.enqueue({
      kind: 'sse',
      events: [
        ...Array.from(
          { length: 17 },
          () =>
            `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [{ index: 0, function: { name, arguments: '' } }] } }] })}\n\n`,
        ),
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_bad_response' } });
  });

  it('refuses a tool call numbered beyond the bound as a malformed answer', async () => {
    upstream.enqueue({
      kind: 'sse',
      events: [
        `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [{ index: 1e9, id: 'c', function: { name: 'f', arguments: '' } }] } }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const error = await rejection(
      collect(
        model({
          retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, random: () => 0.5 },
        }).stream(request, signal()),
      ),
    );
    expect(error.failure).toBe('malformed');
  });

  it('reads a CRLF stream with comments and no usage chunk', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'stream-no-usage.sse' });
    const parts = await collect(model().stream(request, signal()));
    expect(parts).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: ' there' },
      { type: 'finish', finishReason: 'length', usage: undefined },
    ]);
  });

  it('reuses kept-alive connections across calls', async () => {
    const before = upstream.connections;
    const provider = model();
    for (let index = 0; index < 10; index++) await provider.generate(request, signal());
    expect(upstream.connections - before).toBeLessThanOrEqual(2);
    await provider.close();
  });

  it('appends /v1 only when the endpoint has no path', async () => {
    await model({ url: `${upstream.url}/openai/v1` }).generate(request, signal());
    expect(upstream.chatRequests[0]!.url).toBe('/openai/v1/chat/completions');
  });

  it('discovers the first model the endpoint lists', async () => {
    const name = await discoverModelName(
      {
        url: upstream.url,
        apiKey,
        maxConnections: 1,
        connectTimeoutMs: 1000,
        firstByteTimeoutMs: 1000,
        idleTimeoutMs: 1000,
        allowHosts: [],
      },
      signal(),
    );
    expect(name).toBe('gpt-4o-mini');
  });
});

describe('openai-compatible provider: failures before the first byte are retried', () => {
  it('retries a 500 and then succeeds', async () => {
    upstream.enqueue({ kind: 'json', status: 500, fixture: 'error-500.json' });
    const result = await model().generate(request, signal());
    expect(result.text).toContain('你好');
    expect(upstream.chatRequests).toHaveLength(2);
  });

  it('retries a connection reset and a stream that breaks before its first token', async () => {
    upstream.enqueue({ kind: 'reset' }, { kind: 'sse', fixture: 'stream.sse', cutAfter: 1 });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.map((part) => part.type)).toEqual([
      'text-delta',
      'text-delta',
      'text-delta',
      'finish',
    ]);
    expect(upstream.chatRequests).toHaveLength(3);
  });

  it('tells a refused connection, a reset one and an answer that is not HTTP apart', async () => {
    const refused = (
      await rejection(model({ url: 'http://127.0.0.1:9' }).generate(request, signal()))
    ).toAppError();
    expect(refused.message).toBe('Could not connect to the model endpoint.');
    upstream.enqueue({ kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' });
    const reset = await rejection(model().generate(request, signal()));
    expect(reset.failure).toBe('reset');
    expect(reset.toAppError().message).toMatch(/broke off before its answer was whole/);
    // A status line no HTTP server sends.
    const server = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 abc\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const garbled = await rejection(
        model({ url: `http://127.0.0.1:${port}` }).generate(request, signal()),
      );
      expect(garbled.failure).toBe('malformed');
      expect(garbled.message).toMatch(/not valid HTTP: .*Invalid status code/);
      expect(garbled.toAppError().code).toBe('upstream_bad_response');
    } finally {
      server.close();
    }
  });

  it('waits what Retry-After asks for', async () => {
    upstream.enqueue({
      kind: 'json',
      status: 429,
      fixture: 'error-429.json',
      headers: { 'retry-after': '1' },
    });
    const started = Date.now();
    await model().generate(request, signal());
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(upstream.chatRequests).toHaveLength(2);
  });

  it('returns a 429 at once when Retry-After is longer than the retry ceiling', async () => {
    upstream.enqueue({
      kind: 'json',
      status: 429,
      fixture: 'error-429.json',
      headers: { 'retry-after': '120' },
    });
    const error = await rejection(model().generate(request, signal()));
    const appError = error.toAppError();
    expect(appError.code).toBe('upstream_rate_limited');
    expect(appError.status).toBe(429);
    expect(appError.headers['retry-after']).toBe('120');
    expect(upstream.chatRequests).toHaveLength(1);
  });

  it('passes a 5xx Retry-After too long to wait for on to the client, and clamps any to a day', async () => {
    upstream.enqueue({
      kind: 'json',
      status: 503,
      fixture: 'error-500.json',
      headers: { 'retry-after': '30' },
    });
    const busy = (await rejection(model().generate(request, signal()))).toAppError();
    expect([busy.code, busy.status, busy.headers['retry-after']]).toEqual([
      'upstream_error',
      502,
      '30',
    ]);
    expect(upstream.chatRequests).toHaveLength(1);
    upstream.enqueue({
      kind: 'json',
      status: 429,
      fixture: 'error-429.json',
      headers: { 'retry-after': '100000000000000000000000' },
    });
    const limited = (await rejection(model().generate(request, signal()))).toAppError();
    expect(limited.headers['retry-after']).toBe('86400');
  });

  it('gives up after max_retries', async () => {
    upstream.enqueue(
      { kind: 'json', status: 503, body: {} },
      { kind: 'json', status: 502, body: {} },
      { kind: 'json', status: 500, body: {} },
    );
    const error = await rejection(model().generate(request, signal()));
    expect(error.toAppError()).toMatchObject({ code: 'upstream_error', status: 502 });
    expect(upstream.chatRequests).toHaveLength(3);
  });

  it('does not retry a 400, and shows its message without the key', async () => {
    upstream.enqueue({ kind: 'json', status: 400, fixture: 'error-400-context.json' });
    const error = await rejection(model().generate(request, signal()));
    const appError = error.toAppError();
    expect(appError).toMatchObject({ code: 'upstream_rejected_request', status: 400 });
    expect(appError.message).toContain('maximum context length is 128000 tokens');
    expect(upstream.chatRequests).toHaveLength(1);
  });

  it('hides the key in an endpoint message that echoes part of it', async () => {
    // apiKey is sk-test-SECRETKEY-123: echoed without its prefix.
    upstream.enqueue({
      kind: 'json',
      status: 400,
      body: { error: { message: 'bad x-api-key=test-SECRETKEY-123 for this model' } },
    });
    const appError = (await rejection(model().generate(request, signal()))).toAppError();
    expect(appError.message).toBe(
      'The model endpoint rejected the request: bad x-api-key=[redacted] for this model',
    );
  });

  it('maps a refused key to a 502 that never shows the key', async () => {
    upstream.enqueue({ kind: 'json', status: 401, fixture: 'error-401.json' });
    const error = await rejection(model().generate(request, signal()));
    const appError = error.toAppError();
    expect(appError).toMatchObject({ code: 'upstream_auth_failed', status: 502 });
    expect(
      JSON.stringify({
        message: appError.message,
        body: error.body,
        upstream: error.upstreamMessage,
      }),
    ).not.toContain(apiKey);
  });

  it('times out waiting for the first byte', async () => {
    upstream.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const error = await rejection(
      model({
        firstByteTimeoutMs: 200,
        retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 10, random: () => 0 },
      }).generate(request, signal()),
    );
    expect(error.toAppError()).toMatchObject({ code: 'upstream_timeout', status: 504 });
    expect(upstream.chatRequests).toHaveLength(2);
  });

  it('fails to connect with a clear error', async () => {
    const error = await rejection(
      model({
        url: 'http://127.0.0.1:9',
        retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 10, random: () => 0 },
      }).generate(request, signal()),
    );
    expect(error.failure).toBe('connect');
    expect(error.toAppError().message).toBe('Could not connect to the model endpoint.');
  });

  it('rejects a stream that is malformed from the start', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'malformed-start.sse' });
    const error = await rejection(collect(model().stream(request, signal())));
    expect(error.toAppError()).toMatchObject({ code: 'upstream_bad_response', status: 502 });
    expect(upstream.chatRequests).toHaveLength(1);
  });

  it('rejects a completion without choices', async () => {
    upstream.enqueue({ kind: 'json', body: { id: 'x', choices: [] } });
    const error = await rejection(model().generate(request, signal()));
    expect(error.failure).toBe('malformed');
  });
});

describe('openai-compatible provider: failures after the first byte end the stream', () => {
  it('reports a reset midway as an error part and does not retry', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', cutAfter: 3 });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.slice(0, 2)).toEqual([
      { type: 'text-delta', text: '你好' },
      { type: 'text-delta', text: '！有什么' },
    ]);
    const last = parts.at(-1)!;
    expect(last.type).toBe('error');
    expect((last as { error: AppError }).error.code).toBe('upstream_error');
    expect(upstream.chatRequests).toHaveLength(1);
  });

  it('reports malformed data midway', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'malformed-midway.sse' });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'text-delta', 'error']);
    expect((parts[2] as { error: AppError }).error.code).toBe('upstream_bad_response');
  });

  it('times out when the stream goes idle', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', stallAfter: 2 });
    const parts = await collect(model({ idleTimeoutMs: 200 }).stream(request, signal()));
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'error']);
    expect((parts[1] as { error: AppError }).error.code).toBe('upstream_timeout');
  });

  it('ends a call that drips bytes at its overall deadline, streamed or not, and does not retry it', async () => {
    const delta = (content: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    // A byte every 50 ms: the idle timeout (2 s) never fires.
    const drip = { kind: 'sse', gapMs: 50, events: Array.from({ length: 200 }, () => delta('.')) };
    const bounded = model({ totalTimeoutMs: 400 });

    upstream.enqueue({ ...drip, kind: 'sse' }, { kind: 'json', fixture: 'completion.json' });
    let started = Date.now();
    const parts = await collect(bounded.stream(request, signal()));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.slice(0, -1).every((part) => part.type === 'text-delta')).toBe(true);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_timeout' } });
    await eventually(() => upstream.chatRequests[0]!.clientClosed);

    upstream.reset();
    upstream.enqueue(
      { ...drip, kind: 'sse', events: ['{"choices":', ...Array.from({ length: 200 }, () => ' ')] },
      { kind: 'json', fixture: 'completion.json' },
    );
    started = Date.now();
    const error = await rejection(bounded.generate(request, signal()));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error).toMatchObject({ failure: 'timeout' });
    expect(error.message).toMatch(/no whole answer within 400 ms \(upstream\.total_timeout_ms\)/);
    expect(error.toAppError()).toMatchObject({ code: 'upstream_timeout', status: 504 });
    expect(upstream.chatRequests).toHaveLength(1);
    await eventually(() => upstream.chatRequests[0]!.clientClosed);

    // The caller leaving still reads as the caller leaving, not as the deadline.
    upstream.reset();
    upstream.enqueue({ ...drip, kind: 'sse' });
    const caller = new AbortController();
    const gone = new AppError('client_closed_request');
    setTimeout(() => caller.abort(gone), 100);
    const cut = await collect(model({ totalTimeoutMs: 5000 }).stream(request, caller.signal));
    expect(cut.at(-1)).toEqual({ type: 'error', error: gone });
  });

  it('ends an answer whole when the endpoint stalls or resets after finish_reason', async () => {
    const answer = [
      { type: 'text-delta', text: '你好' },
      { type: 'text-delta', text: '！有什么' },
      { type: 'text-delta', text: '可以帮你的吗？' },
    ];
    const usage = { promptTokens: 9, completionTokens: 10, totalTokens: 19 };
    // Events: role, three deltas, finish_reason, usage, [DONE].
    const cases = [
      [{ kind: 'sse', fixture: 'stream.sse', stallAfter: 5 }, undefined],
      [{ kind: 'sse', fixture: 'stream.sse', stallAfter: 6 }, usage],
      [{ kind: 'sse', fixture: 'stream.sse', cutAfter: 6 }, usage],
    ] as const;
    for (const [behaviour, expectedUsage] of cases) {
      upstream.reset();
      upstream.enqueue(behaviour);
      const started = Date.now();
      const parts = await collect(model({ idleTimeoutMs: 20_000 }).stream(request, signal()));
      expect(parts).toEqual([
        ...answer,
        { type: 'finish', finishReason: 'stop', usage: expectedUsage },
      ]);
      // The grace after finish_reason (2 s), not the idle timeout (20 s).
      expect(Date.now() - started).toBeLessThan(finishGraceMs + 1500);
      await eventually(() => upstream.chatRequests[0]!.clientClosed);
    }
  });

  it('answers with the choice of index 0 only', async () => {
    const chunk = (index: number, content: string) =>
      `data: ${JSON.stringify({ choices: [{ index, delta: { content }, finish_reason: null }] })}\n\n`;
    upstream.enqueue({
      kind: 'sse',
      events: [
        chunk(0, 'A'),
        chunk(1, 'ZZZ'),
        chunk(0, 'B'),
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.filter((part) => part.type === 'text-delta')).toEqual([
      { type: 'text-delta', text: 'A' },
      { type: 'text-delta', text: 'B' },
    ]);
    upstream.enqueue({
      kind: 'json',
      body: {
        choices: [
          { index: 1, message: { content: 'SECOND' }, finish_reason: 'stop' },
          { index: 0, message: { content: 'FIRST' }, finish_reason: 'stop' },
        ],
      },
    });
    expect((await model().generate(request, signal())).text).toBe('FIRST');
  });

  it('reports a stream that ends without finishing', async () => {
    const events = sseEvents(fixture('stream.sse')).slice(0, 3);
    upstream.enqueue({ kind: 'sse', events });
    const parts = await collect(model().stream(request, signal()));
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_bad_response' } });
  });

  it('aborts the upstream call when the caller aborts', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs: 300 });
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of model().stream(request, controller.signal)) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts[0]).toEqual({ type: 'text-delta', text: '你好' });
    await eventually(() => upstream.chatRequests[0]!.clientClosed);
  });

  it('stops reading when the consumer stops early', async () => {
    upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs: 200 });
    for await (const part of model().stream(request, signal())) {
      expect(part.type).toBe('text-delta');
      break;
    }
    await eventually(() => upstream.chatRequests[0]!.clientClosed);
  });
});

describe('openai-compatible provider: readiness and hygiene', () => {
  it('is ready when the endpoint answers, and says why not otherwise', async () => {
    expect(await model().check(signal())).toEqual({ ok: true });
    upstream.modelsBehaviour = { kind: 'json', status: 401, fixture: 'error-401.json' };
    expect(await model().check(signal())).toEqual({
      ok: false,
      reason: 'the model endpoint refuses the configured API key',
    });
    const down = await model({ url: 'http://127.0.0.1:9' }).check(signal());
    expect(down.ok).toBe(false);
  });

  it('refuses a cloud metadata endpoint unless allow-listed', () => {
    expect(() => model({ url: 'http://169.254.169.254/v1' })).toThrow(/metadata/);
    expect(() => model({ url: 'http://metadata.google.internal' })).toThrow(/metadata/);
    expect(() =>
      model({ url: 'http://169.254.169.254/v1', allowHosts: ['169.254.169.254'] }),
    ).not.toThrow();
  });

  it('never logs the API key', () => {
    expect(logText).toContain('retrying model call');
    expect(logText).not.toContain(apiKey);
  });
});
