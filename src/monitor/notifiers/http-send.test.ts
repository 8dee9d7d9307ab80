import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clock, firing, patient, startsAt } from './__fixtures__/notifications.js';
import { Receiver } from './__fixtures__/receiver.js';
import { channelSchema, createNotifier } from './index.js';

// What every robot and webhook shares: outcome classification, no redirects, a capped answer,
// the private-address guard, and no secret in what comes back. Real receivers on 127.0.0.1.

const receiver = new Receiver();
const other = new Receiver();
beforeAll(async () => {
  await receiver.start();
  await other.start();
});
afterAll(async () => {
  await receiver.stop();
  await other.stop();
});
beforeEach(() => {
  receiver.reset();
  other.reset();
});

const wecomAt = (url: string, extra: Record<string, unknown> = {}) =>
  createNotifier(
    'ops',
    channelSchema.parse({
      type: 'wecom',
      url,
      key: 'wecom-key-123',
      allow_hosts: ['127.0.0.1'],
      ...extra,
    }),
    { clock },
  );
const wecom = () => wecomAt(`${receiver.url}/send`);

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('classifying what came back', () => {
  it('429 is retried after Retry-After, in seconds or as an HTTP date', async () => {
    receiver.reply = { status: 429, body: 'slow down', headers: { 'retry-after': '7' } };
    expect(await wecom().send(firing, patient())).toEqual({
      ok: false,
      status: 429,
      detail: 'HTTP 429 slow down',
      retryable: true,
      retryAfterMs: 7000,
    });
    const inTwoMinutes = new Date(startsAt + 120_000).toUTCString();
    receiver.reply = { status: 429, body: '', headers: { 'retry-after': inTwoMinutes } };
    expect(await wecom().send(firing, patient())).toMatchObject({
      retryable: true,
      retryAfterMs: 120_000,
    });
  });

  it('5xx is retried, other 4xx are not, and a 3xx is not followed', async () => {
    receiver.reply = { status: 500, body: 'internal\nerror' };
    expect(await wecom().send(firing, patient())).toEqual({
      ok: false,
      status: 500,
      detail: 'HTTP 500 internal error',
      retryable: true,
    });
    receiver.reply = { status: 400, body: 'bad request' };
    expect(await wecom().send(firing, patient())).toMatchObject({
      ok: false,
      status: 400,
      retryable: false,
    });
    receiver.reply = { status: 302, body: '', headers: { location: `${other.url}/elsewhere` } };
    expect(await wecom().send(firing, patient())).toMatchObject({
      ok: false,
      status: 302,
      retryable: false,
    });
    expect(other.received).toHaveLength(0);
  });

  it('a refused connection is retried, and the detail hides the key in the URL', async () => {
    const port = await closedPort();
    const result = await wecomAt(`http://127.0.0.1:${port}/send`).send(firing, patient());
    expect(result).toEqual({
      ok: false,
      detail: expect.stringContaining(
        `cannot reach http://127.0.0.1:${port}/send?key=***: ECONNREFUSED`,
      ),
      retryable: true,
    });
    expect(result.detail).not.toContain('wecom-key-123');
  });

  it('a receiver that never answers: back within the timeout, retryable', async () => {
    receiver.reply = { status: 200, body: '', hang: true };
    const started = performance.now();
    const result = await wecom().send(firing, AbortSignal.timeout(300));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(result).toEqual({
      ok: false,
      detail: 'timed out waiting for the receiver',
      retryable: true,
    });
  });

  it('reads at most 64 KiB of an answer and reports 200 characters', async () => {
    receiver.reply = { status: 503, body: 'x'.repeat(4 * 1024 * 1024) };
    const result = await wecom().send(firing, patient());
    expect(result).toMatchObject({ ok: false, status: 503, retryable: true });
    expect(result.detail).toBe(`HTTP 503 ${'x'.repeat(200)}`);
  });
});

describe('the private-address guard', () => {
  it('refuses a private URL without allow_hosts and sends with it', async () => {
    const config = { type: 'webhook', url: `${receiver.url}/hook` };
    expect(() => createNotifier('pager', channelSchema.parse(config))).toThrow(
      'channel "pager" (webhook): refusing to connect to 127.0.0.1 (127.0.0.1): it is a private-network address (allow-list the host to use it)',
    );
    const allowed = createNotifier(
      'pager',
      channelSchema.parse({ ...config, allow_hosts: ['127.0.0.1'] }),
    );
    expect(await allowed.send(firing, patient())).toMatchObject({ ok: true, status: 200 });
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses metadata, RFC 1918, CGNAT, ULA, loopback and IPv4-mapped hosts; public ones pass', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.8/hook',
      'http://172.20.1.1/hook',
      'http://192.168.1.10/hook',
      'http://100.64.0.1/hook',
      'http://[fd00::1]/hook',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://localhost:8080/hook',
      'http://metadata.google.internal/computeMetadata/v1/',
    ]) {
      expect(() => createNotifier('pager', channelSchema.parse({ type: 'webhook', url }))).toThrow(
        /refusing to connect/,
      );
    }
    expect(() =>
      createNotifier(
        'pager',
        channelSchema.parse({ type: 'webhook', url: 'https://sms.example.com/send' }),
      ),
    ).not.toThrow();
  });

  it('never puts a key or token in a thrown error', () => {
    const attempts = [
      { type: 'wecom', url: 'http://10.0.0.1/send', key: 'wecom-key-123' },
      { type: 'dingtalk', url: 'http://10.0.0.1/robot', access_token: 'ding-token-456' },
      { type: 'feishu', url: 'http://10.0.0.1/open-apis/bot/v2/hook/feishu-token-789' },
    ];
    for (const config of attempts) {
      let message = '';
      try {
        createNotifier('ops', channelSchema.parse(config));
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/refusing to connect to 10\.0\.0\.1/);
      expect(message).not.toMatch(/wecom-key-123|ding-token-456|feishu-token-789/);
    }
  });
});
