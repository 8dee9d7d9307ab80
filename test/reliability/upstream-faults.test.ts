// Upstream fault injection (reliability issue, part 2): a misbehaving OpenAI-compatible endpoint
// in front of a real server. Each case: a clear error to the client (or a successful retry where
// retrying is allowed), the partial answer stored as incomplete when the stream had begun, and no
// response left open at the endpoint afterwards (assistd closed every socket it gave up on).
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, fixture, sseEvents, type Behaviour } from '../support/fake-upstream.js';
import { Harness, readEvents } from '../support/harness.js';

let harness: Harness;
const hello = { messages: [{ role: 'user', content: 'tell me something' }] };
const answer = '你好！有什么可以帮你的吗？';
const events = sseEvents(fixture('stream.sse'));

beforeAll(async () => {
  harness = await Harness.start({
    config: {
      upstream: {
        first_byte_timeout_ms: 400,
        idle_timeout_ms: 400,
        max_retries: 2,
        retry_base_delay_ms: 1,
        retry_max_delay_ms: 2_000,
      },
    },
  });
});
afterAll(async () => {
  await harness.close();
});
beforeEach(async () => {
  // Every case starts and ends with nothing open at the endpoint.
  await eventually(() => harness.upstream.openResponses === 0, 5_000);
  harness.upstream.reset();
});

interface Stored {
  messages: Array<{ role: string; content: string; incomplete: boolean }>;
}

/** A non-streamed /v1/chat: status, error code, and what the conversation holds. */
async function chat(): Promise<{ status: number; code?: string; retryAfter: string | null }> {
  const response = await harness.request('/v1/chat', { body: hello });
  const body = (await response.json()) as { error?: { code: string } };
  return {
    status: response.status,
    code: body.error?.code,
    retryAfter: response.headers.get('retry-after'),
  };
}

/** A streamed /v1/chat: the event names, the error code, and the stored assistant message. */
async function streamed() {
  const response = await harness.request('/v1/chat', { body: { ...hello, stream: true } });
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const body = (await response.json()) as { error: { code: string } };
    return { status: response.status, code: body.error.code, names: [], stored: undefined };
  }
  const list = await readEvents(response);
  const names = list.map((event) => event.event);
  const last = list.at(-1)!;
  const code =
    last.event === 'error'
      ? (JSON.parse(last.data) as { error: { code: string } }).error.code
      : undefined;
  const { conversation_id } = JSON.parse(list[0]!.data) as { conversation_id: string };
  const stored = await harness.json<Stored>(`/v1/conversations/${conversation_id}`);
  return { status: response.status, code, names, stored: stored.body.messages.at(-1) };
}

async function noOpenResponses(): Promise<void> {
  await eventually(() => harness.upstream.openResponses === 0, 5_000);
}

describe('before the first byte: retried where allowed, then a clear HTTP error', () => {
  const cases: Array<[string, Behaviour[], number, string | undefined]> = [
    ['a reset before the headers, then an answer', [{ kind: 'reset' }], 200, undefined],
    [
      'resets past max_retries',
      [{ kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' }],
      502,
      'upstream_error',
    ],
    [
      'a burst of 500, 502, then an answer',
      [
        { kind: 'json', status: 500, fixture: 'error-500.json' },
        { kind: 'json', status: 502, body: {} },
      ],
      200,
      undefined,
    ],
    [
      'a burst of 5xx past max_retries',
      [500, 502, 503].map((status) => ({ kind: 'json', status, body: {} })),
      502,
      'upstream_error',
    ],
    [
      '429 with Retry-After: 0, then an answer',
      [{ kind: 'json', status: 429, fixture: 'error-429.json', headers: { 'retry-after': '0' } }],
      200,
      undefined,
    ],
    [
      '429 without Retry-After, past max_retries',
      Array.from({ length: 3 }, () => ({ kind: 'json', status: 429, fixture: 'error-429.json' })),
      429,
      'upstream_rate_limited',
    ],
    [
      'a stall before the first byte',
      [{ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' }],
      504,
      'upstream_timeout',
    ],
    [
      'HTML with status 200',
      [
        {
          kind: 'raw',
          headers: { 'content-type': 'text/html' },
          body: '<html><body>Bad gateway</body></html>',
        },
      ],
      502,
      'upstream_bad_response',
    ],
    [
      'truncated JSON',
      [
        {
          kind: 'raw',
          headers: { 'content-type': 'application/json' },
          body: '{"id":"x","choices":[{"mess',
        },
      ],
      502,
      'upstream_bad_response',
    ],
    [
      'a giant answer (40 MB)',
      [
        {
          kind: 'raw',
          headers: { 'content-type': 'application/json' },
          body: Buffer.alloc(40 * 1024 * 1024, 0x20),
          chunks: 640,
        },
      ],
      502,
      'upstream_bad_response',
    ],
  ];
  for (const [name, behaviours, status, code] of cases) {
    it(name, async () => {
      harness.upstream.enqueue(...behaviours);
      const result = await chat();
      expect(result.status).toBe(status);
      expect(result.code).toBe(code);
      await noOpenResponses();
    });
  }

  it('returns 429 with the upstream Retry-After when it is longer than the retry ceiling', async () => {
    harness.upstream.enqueue({
      kind: 'json',
      status: 429,
      fixture: 'error-429.json',
      headers: { 'retry-after': '3600' },
    });
    const result = await chat();
    expect(result.status).toBe(429);
    expect(result.code).toBe('upstream_rate_limited');
    expect(Number(result.retryAfter)).toBeGreaterThan(3000);
    expect(harness.upstream.chatRequests).toHaveLength(1);
  });
});

describe('mid-stream: an error event, and the partial answer stored as incomplete', () => {
  const partial = (count: number) =>
    events
      .slice(0, count)
      .map((event) => /"content":"([^"]*)"/.exec(event)?.[1] ?? '')
      .join('');
  const cases: Array<[string, Behaviour, string]> = [
    ['a reset mid-stream', { kind: 'sse', cutAfter: 3 }, 'upstream_error'],
    ['a stall between chunks', { kind: 'sse', stallAfter: 3 }, 'upstream_timeout'],
    [
      'malformed data midway',
      { kind: 'sse', fixture: 'malformed-midway.sse' },
      'upstream_bad_response',
    ],
    ['a stream that ends without finishing', { kind: 'sse', endAfter: 3 }, 'upstream_bad_response'],
    [
      'an endless event (no line end, 6 MiB)',
      { kind: 'sse', events: [...events.slice(0, 3), `data: ${'x'.repeat(6 * 1024 * 1024)}`] },
      'upstream_bad_response',
    ],
  ];
  for (const [name, behaviour, code] of cases) {
    it(name, async () => {
      harness.upstream.enqueue(behaviour);
      const result = await streamed();
      expect(result.status).toBe(200);
      expect(result.names[0]).toBe('start');
      expect(result.names.at(-1)).toBe('error');
      expect(result.code).toBe(code);
      expect(result.stored?.incomplete).toBe(true);
      if (name !== 'malformed data midway') expect(result.stored?.content).toBe(partial(3));
      await noOpenResponses();
    });
  }

  it('a stream served as JSON is refused as a bad response', async () => {
    harness.upstream.enqueue({
      kind: 'raw',
      headers: { 'content-type': 'application/json' },
      body: fixture('completion.json'),
    });
    const result = await streamed();
    expect(result.code).toBe('upstream_bad_response');
    await noOpenResponses();
  });

  it('the full answer after all that (nothing left behind)', async () => {
    const result = await streamed();
    expect(result.names.at(-1)).toBe('done');
    expect(result.stored).toMatchObject({ content: answer, incomplete: false });
  });
});

describe('connection refused', () => {
  let closed: Server;
  let refused: Harness;
  beforeAll(async () => {
    // A port that was just free: nothing listens there.
    closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    refused = await Harness.start({
      config: {
        model_endpoint: `http://127.0.0.1:${port}`,
        upstream: { max_retries: 1, retry_base_delay_ms: 1 },
      },
    });
  });
  afterAll(async () => {
    await refused.close();
  });

  it('is a 502 saying the endpoint cannot be reached, streamed or not; /ready is 503', async () => {
    const plain = await refused.json<{ error: { code: string; message: string } }>('/v1/chat', {
      body: hello,
    });
    expect(plain.status).toBe(502);
    expect(plain.body.error).toMatchObject({
      code: 'upstream_error',
      message: 'Could not connect to the model endpoint.',
    });
    const stream = await refused.json<{ error: { code: string } }>('/v1/chat', {
      body: { ...hello, stream: true },
    });
    expect(stream.status).toBe(502);
    const ready = await refused.json<{ status: string }>('/ready', { principal: null });
    expect(ready.status).toBe(503);
  });
});
