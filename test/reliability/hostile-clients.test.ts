// Hostile clients (reliability issue, part 3): slow-loris headers and bodies, clients that never
// read a stream, thousands of idle connections, abrupt disconnects mid-stream. The server keeps
// serving others within its limits (limits.* in the config) and frees what they held.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { eventually, fixture, sseEvents } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';

const hello = { messages: [{ role: 'user', content: 'stay with me' }] };
let harness: Harness;

beforeAll(async () => {
  harness = await Harness.start({
    config: {
      limits: {
        headers_timeout_seconds: 1,
        request_timeout_seconds: 2,
        keep_alive_timeout_seconds: 2,
        stream_stall_seconds: 1,
        max_connections: 3000,
        requests_per_minute: 1_000_000,
        request_burst: 1_000_000,
      },
    },
  });
});
afterAll(async () => {
  await harness.close();
});

/** A raw TCP connection to the server, with when (and whether) the server closed it. */
interface Raw {
  socket: Socket;
  closed: Promise<number>;
  received: () => string;
}
function open(): Promise<Raw> {
  const url = new URL(harness.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now())));
    socket.once('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed, received: () => text }));
    socket.once('error', reject);
  });
}

/** A normal request works, and fast, while the hostile ones go on. */
async function othersAreServed(): Promise<void> {
  const started = Date.now();
  const response = await harness.json<{ message: { content: string } }>('/v1/chat', {
    body: hello,
  });
  expect(response.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(3000);
}

describe('what the HTTP parser refuses', () => {
  const cases: Array<[string, string, number, string]> = [
    [
      'a control character in a header',
      'GET /health HTTP/1.1\r\nHost: x\r\nX-Id: a\x01b\r\n\r\n',
      400,
      'malformed_http',
    ],
    ['a space in the path', 'GET /v1/a b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed_http'],
    [
      'two different Content-Lengths',
      'POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
      'malformed_http',
    ],
    [
      'a bad chunk size',
      'POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      400,
      'malformed_http',
    ],
    [
      '20 KB of headers',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
  ];

  it.each(cases)(
    '%s: the OpenAI error shape, a request id, and the connection closed',
    async (_name, request, status, code) => {
      const raw = await open();
      raw.socket.write(request);
      await raw.closed;
      const [head, body] = raw.received().split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/);
      expect(head).toContain('\r\nx-content-type-options: nosniff\r\n');
      expect(head).toContain('\r\nconnection: close');
      const parsed = JSON.parse(body!) as { error: Record<string, unknown> };
      expect(parsed.error).toMatchObject({ code, type: 'invalid_request_error', param: null });
      expect(Buffer.byteLength(body!)).toBe(Number(/content-length: (\d+)/.exec(head!)![1]));
    },
  );
});

describe('slow clients are cut off at their timeout', () => {
  it('slow-loris headers: 200 connections trickling headers are closed within ~2 s', async () => {
    const sockets = await Promise.all(Array.from({ length: 200 }, () => open()));
    const started = Date.now();
    for (const raw of sockets) raw.socket.write('POST /v1/chat HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => {
      for (const raw of sockets) if (!raw.socket.destroyed) raw.socket.write('X-Slow: a\r\n');
    }, 200);
    try {
      await othersAreServed();
      const closedAt = await Promise.all(sockets.map((raw) => raw.closed));
      // headers_timeout_seconds 1, checked every second: at most about 2 s (3 s on a busy host).
      expect(Math.max(...closedAt) - started).toBeLessThan(4000);
      expect(sockets[0]!.received()).toMatch(/^HTTP\/1\.1 408/);
      expect(sockets[0]!.received()).toContain('"code":"request_timeout"');
    } finally {
      clearInterval(trickle);
    }
  });

  it('slow body: a body trickling in is cut off at request_timeout_seconds', async () => {
    const raw = await open();
    const started = Date.now();
    raw.socket.write(
      `POST /v1/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${harness.adminToken}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"messages":',
    );
    const trickle = setInterval(() => raw.socket.write(' '), 200);
    try {
      await othersAreServed();
      const closedAt = await raw.closed;
      expect(closedAt - started).toBeGreaterThanOrEqual(1500);
      expect(closedAt - started).toBeLessThan(5000);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe('connections', () => {
  it('2,000 idle connections: others are served, and the idle ones are closed', async () => {
    const sockets: Raw[] = [];
    for (let index = 0; index < 2000; index += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => open()))));
    }
    await othersAreServed();
    // A connection that never sends a request is closed at the headers timeout.
    await Promise.all(sockets.map((raw) => raw.closed));
  }, 30_000);

  it('kept-alive connections are closed after keep_alive_timeout_seconds of silence', async () => {
    const raw = await open();
    raw.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await eventually(() => raw.received().includes('\r\n\r\n'));
    const answeredAt = Date.now();
    const closedAt = await raw.closed;
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(1500);
    expect(closedAt - answeredAt).toBeLessThan(4000);
  });
});

describe('streams', () => {
  it('a client that never reads a stream is disconnected and the upstream call is freed', async () => {
    // A long answer: 20,000 chunks of about 1 KB, far more than the socket buffers hold.
    const events = sseEvents(fixture('stream.sse'));
    const filler = events[1]!.replace(/"content":"[^"]*"/, `"content":"${'x'.repeat(1000)}"`);
    harness.upstream.enqueue({
      kind: 'sse',
      events: [events[0]!, ...Array.from({ length: 20_000 }, () => filler), ...events.slice(-2)],
    });
    const raw = await open();
    const body = JSON.stringify({ ...hello, stream: true });
    raw.socket.write(
      `POST /v1/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${harness.adminToken}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await eventually(() => raw.received().includes('event: delta'));
    raw.socket.pause(); // stop reading (a paused socket does not notice being closed either)
    await othersAreServed();
    // stream_stall_seconds 1: the server closes the connection and stops the upstream call.
    await eventually(() => harness.upstream.openResponses === 0, 10_000);
    expect(harness.logs()).toContain('client stopped reading a stream: closed');
    raw.socket.resume();
    await raw.closed;
    expect(raw.received()).not.toContain('event: done');
  }, 30_000);
});

describe('abrupt disconnects mid-stream free local-engine sequences', () => {
  let local: Harness;
  beforeAll(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'assistd-hostile-model-'));
    mkdirSync(modelDir, { recursive: true });
    await writeTinyModel(join(modelDir, 'model-q8_0.gguf'), {
      script: 'a long scripted answer '.repeat(40),
    });
    local = await Harness.start({
      noEndpoint: true,
      config: {
        model_path: modelDir,
        local_model: { max_batch_size: 4, queue_max: 8, context_size: 1024, threads: 1 },
      },
    });
    await local.waitForReady();
  }, 60_000);
  afterAll(async () => {
    await local?.close();
  });

  const gauge = async (name: string) => {
    const text = await (await local.request('/metrics')).text();
    return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };

  it('12 clients that leave after the first token: every sequence is back, the next chat works', async () => {
    const leavers = Array.from({ length: 12 }, async () => {
      const controller = new AbortController();
      const response = await local.request('/v1/chat', {
        body: { ...hello, stream: true, max_tokens: 400 },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);
    });
    await Promise.all(leavers);
    await eventually(
      async () => (await gauge('assistd_local_engine_active_sequences')) === 0,
      10_000,
    );
    expect(await gauge('assistd_local_engine_queue_depth')).toBe(0);
    const after = await local.json<{ message: { content: string } }>('/v1/chat', {
      body: { ...hello, max_tokens: 8 },
    });
    expect(after.status).toBe(200);
  }, 60_000);

  it('then shuts down at once (it hung: sockets of abandoned streams held the close)', async () => {
    await local.server.shutdown('test: after abandoned streams');
  }, 15_000);
});
