// Resource bounds (reliability issue, part 5), over HTTP: each bound a test did not already drive
// is driven to its limit here, and the test checks the documented behaviour there (a refusal, a
// closed connection, an error event) and that what it bounds stopped growing. The component-level
// bounds are in bounds-components.test.ts; docs/reliability-bounds.md lists every bound and its test.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxScrapeConnections } from '../../src/monitor/metrics-listener.js';
import { maxStreamedAnswerChars } from '../../src/providers/openai-compatible/model.js';
import { eventually, fixture, sseEvents } from '../support/fake-upstream.js';
import { Harness, readEvents } from '../support/harness.js';

const hello = { messages: [{ role: 'user', content: 'tell me everything' }] };
const events = sseEvents(fixture('stream.sse'));
type ErrorBody = { error: { code: string; type: string; message: string } };

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({
    config: {
      metrics: { listen: '127.0.0.1:0' },
      limits: { requests_per_minute: 1_000_000, request_burst: 1_000_000 },
    },
  });
});
afterAll(async () => {
  await harness.close();
});

/** A raw TCP connection, and when (if ever) the other side closed it. */
interface Raw {
  socket: Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
}
function open(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let closed = false;
    const whenClosed = new Promise<void>((done) =>
      socket.once('close', () => {
        closed = true;
        done();
      }),
    );
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed: whenClosed, isClosed: () => closed }));
    socket.once('error', reject);
  });
}

/** Opens `count` idle connections; they must all stay open (none was refused). */
async function fill(url: string, count: number): Promise<Raw[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => open(url)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(sockets.filter((raw) => raw.isClosed())).toHaveLength(0);
  return sockets;
}

/** The next connection past the bound is closed by the server as it arrives, unanswered. */
async function refusedAtTheBound(url: string): Promise<void> {
  const extra = await open(url);
  const started = Date.now();
  await extra.closed;
  expect(Date.now() - started).toBeLessThan(1000);
}

describe('a streamed answer is bounded', () => {
  it(`past ${maxStreamedAnswerChars} characters the stream ends with upstream_bad_response and the partial answer stored stops at the bound`, async () => {
    const mebi = 1024 * 1024;
    const piece = events[1]!.replace(/"content":"[^"]*"/, `"content":"${'x'.repeat(mebi)}"`);
    const pieces = maxStreamedAnswerChars / mebi + 1;
    harness.upstream.enqueue({
      kind: 'sse',
      events: [events[0]!, ...Array.from({ length: pieces }, () => piece), ...events.slice(-3)],
    });
    // Its own principal: what it was sent is charged to it (below).
    const response = await harness.request('/v1/chat', {
      body: { ...hello, stream: true },
      principal: 'flood',
    });
    const list = await readEvents(response);
    expect(list.map((event) => event.event).filter((name) => name === 'delta')).toHaveLength(
      pieces - 1,
    );
    expect(list.at(-1)!.event).toBe('error');
    expect((JSON.parse(list.at(-1)!.data) as ErrorBody).error.code).toBe('upstream_bad_response');
    const { conversation_id } = JSON.parse(list[0]!.data) as { conversation_id: string };
    const stored = await harness.json<{
      messages: Array<{ content: string; incomplete: boolean }>;
    }>(`/v1/conversations/${conversation_id}`, { principal: 'flood' });
    const answer = stored.body.messages.at(-1)!;
    expect(answer.incomplete).toBe(true);
    expect(answer.content.length).toBe(maxStreamedAnswerChars);
    // The 16 Mi characters it received count against its token budget, though the answer failed.
    const next = await harness.json<ErrorBody>('/v1/chat', { body: hello, principal: 'flood' });
    expect(next.body.error.code).toBe('rate_limited');
    await eventually(() => harness.upstream.openResponses === 0, 5_000);
  }, 30_000);
});

describe('conversation locks', () => {
  it('hold one entry per turn in flight; refused, failed and finished turns leave none behind', async () => {
    const { engine, lifecycle } = harness.server;
    expect(engine.activeTurns).toBe(0);
    const running = 5;
    harness.upstream.enqueue(
      ...Array.from({ length: running }, () => ({ kind: 'sse' as const, stallAfter: 2 })),
    );
    const clients = Array.from({ length: running }, () => new AbortController());
    const streams = await Promise.all(
      clients.map((client) =>
        harness.request('/v1/chat', { body: { ...hello, stream: true }, signal: client.signal }),
      ),
    );
    expect(engine.activeTurns).toBe(running);
    // The conversation id of the first stream, from its `start` event.
    const reader = streams[0]!.body!.getReader();
    let head = '';
    while (!head.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before its start event');
      head += new TextDecoder().decode(value);
    }
    const id = /"conversation_id":"([^"]+)"/.exec(head)![1]!;

    const busy = await harness.json<ErrorBody>('/v1/chat', {
      body: { ...hello, conversation_id: id },
    });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('conversation_busy');
    const failures = await Promise.all([
      ...Array.from({ length: 50 }, (_, index) =>
        harness.request('/v1/chat', { body: { ...hello, conversation_id: `conv_none_${index}` } }),
      ),
      ...Array.from({ length: 20 }, () =>
        harness.request('/v1/chat', { body: { ...hello, model: 'no-such-model' } }),
      ),
    ]);
    expect(new Set(failures.map((response) => response.status))).toEqual(new Set([404]));
    await Promise.all(failures.map((response) => response.arrayBuffer()));
    expect(engine.activeTurns).toBe(running);

    for (const client of clients) client.abort();
    await eventually(() => engine.activeTurns === 0 && lifecycle.inFlight === 0, 5_000);
    const after = await harness.json('/v1/chat', { body: { ...hello, conversation_id: id } });
    expect(after.status).toBe(200);
    expect(engine.activeTurns).toBe(0);
  });
});

describe('connections', () => {
  it('limits.max_connections: at the bound a new connection is closed as it arrives; the next one after a close is served', async () => {
    const small = await Harness.start({
      upstream: harness.upstream,
      config: { limits: { max_connections: 16 } },
    });
    try {
      const idle = await fill(small.url, 16);
      await refusedAtTheBound(small.url);
      idle[0]!.socket.destroy();
      await idle[0]!.closed;
      await eventually(async () => {
        const response = await fetch(`${small.url}/health`).catch(() => undefined);
        return response?.status === 200;
      }, 5_000);
      for (const raw of idle) raw.socket.destroy();
    } finally {
      await small.close();
    }
  });

  it(`the metrics listener holds ${maxScrapeConnections} connections at most; a scrape works again once one leaves`, async () => {
    const url = harness.server.metricsUrl!;
    const idle = await fill(url, maxScrapeConnections);
    await refusedAtTheBound(url);
    idle[0]!.socket.destroy();
    await idle[0]!.closed;
    await eventually(async () => {
      const response = await fetch(`${url}/metrics`).catch(() => undefined);
      return response?.status === 200 && (await response.text()).includes('assistd_');
    }, 5_000);
    for (const raw of idle) raw.socket.destroy();
  });
});

describe('request size', () => {
  it('a path segment of 100 characters is routed; at 101 it is 414 path_too_long', async () => {
    const response = await harness.json<ErrorBody>(`/v1/conversations/${'c'.repeat(101)}`);
    expect(response.status).toBe(414);
    expect(response.body.error).toMatchObject({
      code: 'path_too_long',
      type: 'invalid_request_error',
    });
    expect((await harness.request(`/v1/conversations/${'c'.repeat(100)}`)).status).toBe(404);
  });

  it('request headers over 16 KiB are refused with 431', async () => {
    const response = await harness.request('/health', {
      headers: { 'x-filler': 'x'.repeat(17 * 1024) },
    });
    expect(response.status).toBe(431);
    expect((await harness.request('/health')).status).toBe(200);
  });
});

describe('metrics', () => {
  /** Lines of the request counter and latency histogram in a scrape: the series they hold. */
  async function requestSeries(): Promise<string[]> {
    const text = await (await harness.request('/metrics')).text();
    return text
      .split('\n')
      .filter((line) => /^assistd_http_request(s_total|_duration_seconds_bucket)\{/.test(line))
      .map((line) => line.replace(/ \S+$/, ''));
  }

  it('labels stay bounded: 600 distinct unknown paths and methods add no series', async () => {
    const send = (path: string) =>
      Promise.all(
        ['GET', 'POST', 'PROPFIND'].map(async (method) => {
          const response = await harness.request(path, { method });
          await response.arrayBuffer();
          return response.status;
        }),
      );
    await send('/nope/warm-up');
    const before = await requestSeries();
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          send(`/nope/${batch}-${index}/${'z'.repeat(index)}`),
        ),
      );
    }
    const after = (await requestSeries()).filter((series) => !series.includes('/metrics'));
    expect(after).toEqual(before.filter((series) => !series.includes('/metrics')));
    expect(after.join('\n')).not.toContain('/nope/');
    expect(after.join('\n')).toContain('route="unmatched",method="OTHER"');
  });

  it('the series route answers at most 1,000 points per series, coarsening the step', async () => {
    const response = await harness.json<{
      step_ms: number;
      series: Array<{ points: unknown[] }>;
    }>('/admin/metrics/series?range=31d&step=10s&series=requests_per_second,cpu_percent:max');
    expect(response.status).toBe(200);
    // The range is capped at the retention (24 h of 10 s slots), then coarsened to 9 slots a point.
    expect(response.body.step_ms).toBe(90_000);
    for (const series of response.body.series) {
      expect(series.points.length).toBeGreaterThan(900);
      expect(series.points.length).toBeLessThanOrEqual(1000);
    }
  });
});
