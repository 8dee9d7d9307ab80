import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertNotification, Notifier } from '../types.js';
import { channelSchema, createNotifier, redactUrl } from './index.js';
import { alertmanagerPayload } from './webhook.js';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A real HTTP receiver on 127.0.0.1 whose answer each test sets. */
let server: Server;
let base = '';
const received: Received[] = [];
let reply: { status: number; body: string; headers?: Record<string, string>; hang?: boolean };

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        url: request.url ?? '',
        headers: request.headers,
        text: Buffer.concat(chunks).toString(),
      });
      if (reply.hang === true) return;
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
  reply = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
});

const startsAt = Date.UTC(2026, 10, 27, 1, 2, 3);
const firing: AlertNotification = {
  status: 'firing',
  groupKey: 'wecom:latency-p99-high',
  alerts: [
    {
      rule: 'latency-p99-high',
      status: 'firing',
      severity: 'warning',
      metric: 'request_latency_ms',
      aggregation: 'p99',
      comparison: '>',
      threshold: 2000,
      value: 2350,
      summary: 'P99 latency 2350 ms > 2000 ms over 5m',
      startsAt,
      fingerprint: 'abc123',
      labels: { alertname: 'latency-p99-high', severity: 'warning', service: 'assistd' },
    },
  ],
};

function notifier(config: Record<string, unknown>, clock = () => startsAt): Notifier {
  return createNotifier('test', channelSchema.parse(config), { clock });
}
const signal = () => AbortSignal.timeout(5000);

describe('WeCom robot', () => {
  const config = () => ({
    type: 'wecom',
    url: `${base}/cgi-bin/webhook/send`,
    key: 'wecom-key-123',
    allow_hosts: ['127.0.0.1'],
  });

  it('posts one markdown message with the key in the query, and reads errcode 0 as delivered', async () => {
    const result = await notifier(config()).send(firing, signal());
    expect(result).toEqual({ ok: true, status: 200, detail: 'errcode 0 ok', retryable: false });
    expect(received[0]!.url).toBe('/cgi-bin/webhook/send?key=wecom-key-123');
    const body = JSON.parse(received[0]!.text) as {
      msgtype: string;
      markdown: { content: string };
    };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toBe(
      '## <font color="warning">\\[FIRING\\] assistd latency-p99-high</font>\n\n' +
        '- latency-p99-high (warning): P99 latency 2350 ms \\> 2000 ms over 5m — since 2026-11-27T01:02:03Z',
    );
  });

  it('cuts a long message to 4096 bytes on a character boundary', async () => {
    const many: AlertNotification = {
      ...firing,
      alerts: Array.from({ length: 80 }, (_, index) => ({
        ...firing.alerts[0]!,
        rule: `规则-${index}`,
        summary: '延迟过高，请检查上游模型服务的状态和网络',
      })),
    };
    await notifier(config()).send(many, signal());
    const content = (JSON.parse(received[0]!.text) as { markdown: { content: string } }).markdown
      .content;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(content)).toBeGreaterThan(4000);
    expect(content.endsWith('…(truncated)')).toBe(true);
    expect(content).not.toContain('\uFFFD');
  });

  it('retries a rate-limited robot after a minute, and not a wrong key; never shows the key', async () => {
    reply = { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' };
    expect(await notifier(config()).send(firing, signal())).toMatchObject({
      ok: false,
      retryable: true,
      retryAfterMs: 60_000,
    });
    reply = {
      status: 200,
      body: '{"errcode":93000,"errmsg":"invalid webhook url, key wecom-key-123"}',
    };
    const wrong = await notifier(config()).send(firing, signal());
    expect(wrong).toMatchObject({ ok: false, retryable: false });
    expect(wrong.detail).toBe('errcode 93000 invalid webhook url, key ***');
  });
});

describe('DingTalk and Feishu robots', () => {
  it('signs DingTalk sends with timestamp and HMAC-SHA256 of "timestamp\\nsecret"', async () => {
    const dingtalk = notifier({
      type: 'dingtalk',
      url: `${base}/robot/send`,
      access_token: 'ding-token',
      secret: 'SECdingsecret',
      allow_hosts: ['127.0.0.1'],
    });
    expect((await dingtalk.send(firing, signal())).ok).toBe(true);
    const url = new URL(received[0]!.url, base);
    expect(url.searchParams.get('access_token')).toBe('ding-token');
    expect(url.searchParams.get('timestamp')).toBe(String(startsAt));
    const expected = createHmac('sha256', 'SECdingsecret')
      .update(`${startsAt}\nSECdingsecret`)
      .digest('base64');
    expect(url.searchParams.get('sign')).toBe(expected);
    const body = JSON.parse(received[0]!.text) as { msgtype: string; markdown: { title: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[FIRING] assistd latency-p99-high');
  });

  it('signs Feishu sends with an HMAC keyed by "timestamp\\nsecret" over nothing', async () => {
    reply = { status: 200, body: '{"code":0,"msg":"success"}' };
    const feishu = notifier({
      type: 'feishu',
      url: `${base}/open-apis/bot/v2/hook/feishu-hook-token`,
      secret: 'feishu-secret',
      allow_hosts: ['127.0.0.1'],
    });
    expect(await feishu.send(firing, signal())).toMatchObject({
      ok: true,
      detail: 'code 0 success',
    });
    const body = JSON.parse(received[0]!.text) as Record<string, unknown>;
    const seconds = Math.floor(startsAt / 1000);
    expect(body).toEqual({
      timestamp: String(seconds),
      sign: createHmac('sha256', `${seconds}\nfeishu-secret`).update('').digest('base64'),
      msg_type: 'text',
      content: {
        text:
          '[FIRING] assistd latency-p99-high\n\n' +
          '- latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z\n',
      },
    });
    reply = { status: 200, body: '{"code":19021,"msg":"sign match fail"}' };
    const failed = await feishu.send(firing, signal());
    expect(failed).toMatchObject({ ok: false, retryable: false });
    expect(failed.detail).not.toContain('feishu-hook-token');
  });
});

describe('generic webhook', () => {
  const webhook = (extra: Record<string, unknown>) =>
    notifier({ type: 'webhook', url: `${base}/hook`, allow_hosts: ['127.0.0.1'], ...extra });

  it('sends the Alertmanager payload (version 4) and signs the body', async () => {
    reply = { status: 200, body: 'ok' };
    const sent = await webhook({ format: 'alertmanager', hmac_secret: 'hmac-secret' }).send(
      { ...firing, externalUrl: 'https://assistd.example/console' },
      signal(),
    );
    expect(sent.ok).toBe(true);
    const body = JSON.parse(received[0]!.text) as Record<string, unknown>;
    expect(body).toEqual({
      version: '4',
      groupKey: 'wecom:latency-p99-high',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'test',
      groupLabels: { alertname: 'latency-p99-high' },
      commonLabels: firing.alerts[0]!.labels,
      commonAnnotations: {
        summary: 'P99 latency 2350 ms > 2000 ms over 5m',
        description:
          'latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z',
      },
      externalURL: 'https://assistd.example/console',
      alerts: [
        {
          status: 'firing',
          labels: firing.alerts[0]!.labels,
          annotations: {
            summary: 'P99 latency 2350 ms > 2000 ms over 5m',
            description:
              'latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z',
          },
          startsAt: '2026-11-27T01:02:03.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://assistd.example/console',
          fingerprint: 'abc123',
        },
      ],
    });
    const timestamp = received[0]!.headers['x-assistd-timestamp'] as string;
    expect(timestamp).toBe(String(Math.floor(startsAt / 1000)));
    const expected = createHmac('sha256', 'hmac-secret')
      .update(`${timestamp}.${received[0]!.text}`)
      .digest('hex');
    expect(received[0]!.headers['x-assistd-signature']).toBe(`sha256=${expected}`);
  });

  it('fills a template with JSON-escaped values, so quotes and newlines cannot break it', async () => {
    reply = { status: 202, body: '' };
    const tricky: AlertNotification = {
      ...firing,
      alerts: [{ ...firing.alerts[0]!, summary: 'say "hi"\\n{{rule}}\nnext line' }],
    };
    const sms = webhook({
      format: 'template',
      template: '{"to":"+8613800000000","text":"{{severity}}: {{summary}}","n":{{count}}}',
    });
    expect(await sms.send(tricky, signal())).toMatchObject({ ok: true, status: 202 });
    expect(JSON.parse(received[0]!.text)).toEqual({
      to: '+8613800000000',
      text: 'warning: say "hi"\\n{{rule}}\nnext line',
      n: 1,
    });
    expect(() => webhook({ format: 'template', template: '{"text": {{summary}} }' })).toThrow(
      /does not give valid JSON/,
    );
    expect(() => webhook({ format: 'template', template: '{"x":"{{nope}}"}' })).toThrow(
      /unknown placeholder \{\{nope\}\}/,
    );
  });

  it('classifies failures: 429 with Retry-After, 5xx, 4xx, refused, and a receiver that hangs', async () => {
    const hook = webhook({});
    reply = { status: 429, body: 'slow down', headers: { 'retry-after': '7' } };
    expect(await hook.send(firing, signal())).toMatchObject({
      ok: false,
      status: 429,
      retryable: true,
      retryAfterMs: 7000,
    });
    reply = { status: 503, body: 'down' };
    expect(await hook.send(firing, signal())).toMatchObject({ ok: false, retryable: true });
    reply = { status: 400, body: 'bad' };
    expect(await hook.send(firing, signal())).toMatchObject({ ok: false, retryable: false });
    const refused = notifier({
      type: 'webhook',
      url: 'http://127.0.0.1:9/hook',
      allow_hosts: ['127.0.0.1'],
    });
    expect(await refused.send(firing, signal())).toMatchObject({ ok: false, retryable: true });
    reply = { status: 200, body: '', hang: true };
    const started = Date.now();
    const hung = await hook.send(firing, AbortSignal.timeout(300));
    expect(hung).toMatchObject({
      ok: false,
      retryable: true,
      detail: 'timed out waiting for the receiver',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses private and metadata hosts unless allow-listed', () => {
    expect(() => notifier({ type: 'webhook', url: `${base}/hook` })).toThrow(/private-network/);
    expect(() => notifier({ type: 'webhook', url: 'http://10.1.2.3/hook' })).toThrow(
      /private-network/,
    );
    expect(() => notifier({ type: 'webhook', url: 'http://localhost:8080/hook' })).toThrow(
      /private/,
    );
    expect(() =>
      notifier({
        type: 'webhook',
        url: 'http://169.254.169.254/latest',
        allow_hosts: ['127.0.0.1'],
      }),
    ).toThrow(/metadata/);
    expect(() => notifier({ type: 'webhook', url: 'https://sms.example.com/send' })).not.toThrow();
  });
});

describe('redactUrl', () => {
  it('hides keys, tokens, signatures and credentials in URLs', () => {
    expect(redactUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc')).toBe(
      'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***',
    );
    expect(
      redactUrl('https://u:p@oapi.dingtalk.com/robot/send?access_token=t&timestamp=1&sign=s'),
    ).toBe('https://***@oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***');
    expect(redactUrl('not a url')).toBe('(unparseable URL)');
  });

  it('gives a resolved alert its endsAt in the Alertmanager payload', () => {
    const resolved = alertmanagerPayload(
      {
        ...firing,
        status: 'resolved',
        alerts: [{ ...firing.alerts[0]!, status: 'resolved', endsAt: startsAt + 60_000 }],
      },
      'r',
    ) as { alerts: Array<{ endsAt: string }> };
    expect(resolved.alerts[0]!.endsAt).toBe('2026-11-27T01:03:03.000Z');
  });
});
