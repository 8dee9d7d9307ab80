// A client that closes its connection before a non-streamed answer is ready (a user pressing
// stop, a caller's own timeout) cancels the model call. That is the client leaving, not the
// server or the endpoint failing: it must not count as a 5xx in the metrics (the built-in
// error-rate alert reads them), nor be logged as an error.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';

interface AuditPage {
  data: Array<{
    request_id: string;
    resource: string | null;
    status: number | null;
    error: string | null;
  }>;
}

const hello = { messages: [{ role: 'user', content: 'hello there' }] };

describe('a client that closes the connection before the answer', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(async () => {
    await harness.close();
  });

  it.each([
    ['/v1/chat/completions', { ...hello, model: 'gpt-4o-mini' }],
    ['/v1/chat', hello],
  ])(
    '%s: the model call is cancelled and the request recorded as 499, not as a server error',
    async (route, body) => {
      const before = harness.upstream.chatRequests.length;
      harness.upstream.enqueue({ kind: 'json', fixture: 'completion.json', delayMs: 5_000 });
      const controller = new AbortController();
      const pending = harness
        .request(route, { body, principal: 'leaver', signal: controller.signal })
        .then(
          () => 'answered',
          (error: Error) => error.name,
        );
      await eventually(() => harness.upstream.chatRequests.length > before);
      controller.abort();
      expect(await pending).toBe('AbortError');
      // The upstream call is aborted, not left to run.
      await eventually(() => harness.upstream.chatRequests[before]?.clientClosed === true);

      const audited = async () =>
        (
          await harness.json<AuditPage>('/admin/audit?principal=leaver&limit=1000')
        ).body.data.filter((record) => record.resource === route);
      await eventually(async () => (await audited()).length === 1);
      expect((await audited())[0]).toMatchObject({ status: 499, error: 'client_closed_request' });

      const metrics = await (await harness.request('/metrics')).text();
      const counted = [...metrics.matchAll(/assistd_http_requests_total\{(.*)\} (\d+)/g)]
        .filter(([, labels]) => labels!.includes(`route="${route}"`))
        .map(([, labels, count]) => `${/status="(\d+)"/.exec(labels!)![1]} ${count}`);
      expect(counted).toEqual(['499 1']);

      const lines = harness
        .logs()
        .split('\n')
        .filter((line) => line.includes(`"route":"${route}"`) || line.includes('request failed'));
      // One access line, with the status recorded (Fastify runs no onResponse hook for it).
      const access = lines.filter((line) => line.includes('"msg":"request"'));
      expect(access).toHaveLength(1);
      expect(access[0]).toContain('"status":499');
      expect(lines.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    },
  );

  it('a client that leaves while its body is still coming is recorded and logged as 499', async () => {
    const token = await harness.token('halfway');
    const { hostname, port } = new URL(harness.url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /v1/chat HTTP/1.1\r\n' +
        `Host: ${hostname}\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n' +
        'X-Request-Id: left-halfway\r\n\r\n{"messages":',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();

    const audited = async () =>
      (await harness.json<AuditPage>('/admin/audit?principal=halfway&limit=100')).body.data.filter(
        (record) => record.request_id === 'left-halfway',
      );
    await eventually(async () => (await audited()).length === 1);
    expect((await audited())[0]).toMatchObject({ status: 499, error: 'client_closed_request' });
    const access = harness
      .logs()
      .split('\n')
      .filter(
        (line) => line.includes('"reqId":"left-halfway"') && line.includes('"msg":"request"'),
      );
    expect(access).toHaveLength(1);
    expect(access[0]).toContain('"status":499');
  });

  it.each([
    ['/v1/chat/completions', 503, { ...hello, model: 'gpt-4o-mini' }],
    ['/v1/chat', 429, { ...hello, stream: true }],
  ])(
    '%s: a client that leaves while a retry after %i waits is recorded as 499, and no retry is sent',
    async (route, status, body) => {
      const principal = `waiter-${status}`;
      const before = harness.upstream.chatRequests.length;
      harness.upstream.enqueue({
        kind: 'json',
        status,
        body: { error: { message: 'busy' } },
        headers: { 'retry-after': '3' },
      });
      const controller = new AbortController();
      const pending = harness.request(route, { body, principal, signal: controller.signal }).then(
        () => 'answered',
        (error: Error) => error.name,
      );
      await eventually(() => harness.upstream.chatRequests.length > before);
      await new Promise((resolve) => setTimeout(resolve, 200));
      controller.abort();
      expect(await pending).toBe('AbortError');

      const access = () =>
        harness
          .logs()
          .split('\n')
          .filter(
            (line) =>
              line.includes(`"principal":"${principal}"`) && line.includes('"msg":"request"'),
          );
      await eventually(() => access().length > 0);
      expect(JSON.parse(access()[0]!)).toMatchObject({ route, status: 499 });
      // The record commits with its batch, which may be after the access line is written.
      const records = async () =>
        (await harness.json<AuditPage>(`/admin/audit?principal=${principal}`)).body.data;
      await eventually(async () => (await records()).length > 0);
      expect((await records())[0]).toMatchObject({ status: 499, error: 'client_closed_request' });
      // The wait was cut short: the endpoint never got the retry.
      await new Promise((resolve) => setTimeout(resolve, 3_200));
      expect(harness.upstream.chatRequests.length).toBe(before + 1);
    },
  );

  it('a stream the client closes midway gets its access line, marked client_closed', async () => {
    const lines = (principal: string) =>
      harness
        .logs()
        .split('\n')
        .filter(
          (line) => line.includes(`"principal":"${principal}"`) && line.includes('"msg":"request"'),
        );
    // A stream read to its end: one line, when it finished.
    const whole = await harness.request('/v1/chat/completions', {
      body: { ...hello, model: 'gpt-4o-mini', stream: true },
      principal: 'reader',
    });
    await whole.text();
    await eventually(() => lines('reader').length > 0);
    expect(lines('reader')).toHaveLength(1);
    expect(JSON.parse(lines('reader')[0]!)).not.toHaveProperty('client_closed');

    const before = harness.upstream.chatRequests.length;
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs: 400 });
    const response = await harness.request('/v1/chat/completions', {
      body: { ...hello, model: 'gpt-4o-mini', stream: true },
      principal: 'streamer',
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await eventually(() => harness.upstream.chatRequests[before]?.clientClosed === true);
    const access = () => lines('streamer');
    await eventually(() => access().length > 0);
    expect(access()).toHaveLength(1);
    expect(JSON.parse(access()[0]!)).toMatchObject({
      route: '/v1/chat/completions',
      status: 200,
      client_closed: true,
    });
  });
});
