import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../types.js';
import { clock, firing, patient, resolved, startsAt } from './__fixtures__/notifications.js';
import { Receiver } from './__fixtures__/receiver.js';
import { channelSchema, createNotifier } from './index.js';

// WeCom, DingTalk and Feishu group robots against a real HTTP receiver on 127.0.0.1: exact
// bodies, signatures recomputed here from the documented formulas, and their answers read.

const robot = new Receiver();
beforeAll(() => robot.start());
afterAll(() => robot.stop());
beforeEach(() => robot.reset());

const build = (config: Record<string, unknown>) =>
  createNotifier('ops', channelSchema.parse({ allow_hosts: ['127.0.0.1'], ...config }), { clock });

const firingLine =
  'latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z';

describe('WeCom robot', () => {
  const wecom = () =>
    build({ type: 'wecom', url: `${robot.url}/cgi-bin/webhook/send`, key: 'wecom-key-123' });

  it('posts one markdown message to ?key=KEY and reads errcode 0 as delivered', async () => {
    const result = await wecom().send(firing, patient());
    expect(result).toEqual({ ok: true, status: 200, detail: 'errcode 0 ok', retryable: false });
    expect(robot.received[0]!.method).toBe('POST');
    expect(robot.received[0]!.url).toBe('/cgi-bin/webhook/send?key=wecom-key-123');
    expect(robot.received[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(robot.lastJson()).toEqual({
      msgtype: 'markdown',
      markdown: {
        content:
          '## <font color="warning">[FIRING] assistd latency-p99-high</font>\n\n' +
          '- latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z',
      },
    });
  });

  it('says when an alert resolved', async () => {
    await wecom().send(resolved, patient());
    expect(robot.lastJson()).toEqual({
      msgtype: 'markdown',
      markdown: {
        content:
          '## <font color="info">[RESOLVED] assistd latency-p99-high</font>\n\n' +
          '- latency-p99-high (warning): P99 latency 1200 ms ‹= 2000 ms over 5m — ' +
          'resolved 2026-11-27T01:03:03Z (since 2026-11-27T01:02:03Z)',
      },
    });
  });

  it('cuts Chinese text to 4096 bytes on a character boundary, with an ellipsis line', async () => {
    const many: AlertNotification = {
      ...firing,
      alerts: Array.from({ length: 80 }, (_, index) => ({
        ...firing.alerts[0]!,
        rule: `规则-${index}`,
        summary: '延迟过高，请检查上游模型服务的状态和网络 🚨',
      })),
    };
    await wecom().send(many, patient());
    const { content } = (robot.lastJson() as { markdown: { content: string } }).markdown;
    const bytes = Buffer.byteLength(content);
    expect(bytes).toBeLessThanOrEqual(4096);
    expect(bytes).toBeGreaterThan(4096 - 8);
    expect(content.endsWith('\n…(truncated)')).toBe(true);
    // Re-encoding gives the same text: no character was split.
    expect(Buffer.from(content, 'utf8').toString('utf8')).toBe(content);
    expect(content).not.toMatch(/\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('retries a rate-limited robot after a minute, not a wrong key, and never shows the key', async () => {
    robot.reply = { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' };
    expect(await wecom().send(firing, patient())).toEqual({
      ok: false,
      status: 200,
      detail: 'errcode 45009 api freq out of limit',
      retryable: true,
      retryAfterMs: 60_000,
    });
    robot.reply = {
      status: 200,
      body: '{"errcode":93000,"errmsg":"invalid webhook url, key wecom-key-123"}',
    };
    expect(await wecom().send(firing, patient())).toEqual({
      ok: false,
      status: 200,
      detail: 'errcode 93000 invalid webhook url, key ***',
      retryable: false,
    });
    robot.reply = { status: 200, body: '<html>gateway</html>' };
    expect(await wecom().send(firing, patient())).toMatchObject({
      ok: false,
      retryable: false,
      detail: 'unexpected answer: <html>gateway</html>',
    });
  });
});

describe('DingTalk robot', () => {
  const dingtalk = (extra: Record<string, unknown> = {}) =>
    build({
      type: 'dingtalk',
      url: `${robot.url}/robot/send`,
      access_token: 'ding-token-abc',
      ...extra,
    });

  it('signs with timestamp (ms) and urlencode(base64(HMAC-SHA256(secret, "timestamp\\nsecret")))', async () => {
    expect(await dingtalk({ secret: 'SECding+secret/1' }).send(firing, patient())).toEqual({
      ok: true,
      status: 200,
      detail: 'errcode 0 ok',
      retryable: false,
    });
    const sign = createHmac('sha256', 'SECding+secret/1')
      .update(`${startsAt}\nSECding+secret/1`)
      .digest('base64');
    expect(robot.received[0]!.url).toBe(
      `/robot/send?access_token=ding-token-abc&timestamp=${startsAt}&sign=${encodeURIComponent(sign)}`,
    );
    expect(robot.lastJson()).toEqual({
      msgtype: 'markdown',
      markdown: {
        title: '[FIRING] assistd latency-p99-high',
        text:
          '## <font color="warning">[FIRING] assistd latency-p99-high</font>\n\n' +
          `- ${firingLine}`,
      },
    });
  });

  it('sends unsigned without a secret, and reads DingTalk errors', async () => {
    robot.reply = { status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' };
    const result = await dingtalk().send(firing, patient());
    expect(robot.received[0]!.url).toBe('/robot/send?access_token=ding-token-abc');
    expect(result).toEqual({
      ok: false,
      status: 200,
      detail: 'errcode 310000 sign not match',
      retryable: false,
    });
    robot.reply = { status: 200, body: '{"errcode":130101,"errmsg":"send too fast"}' };
    expect(await dingtalk().send(firing, patient())).toMatchObject({
      retryable: true,
      retryAfterMs: 60_000,
    });
  });
});

describe('Feishu robot', () => {
  const hook = () => `${robot.url}/open-apis/bot/v2/hook/feishu-hook-token-0123`;

  it('signs the body with HMAC-SHA256 keyed by "timestamp\\nsecret" over nothing', async () => {
    robot.reply = { status: 200, body: '{"code":0,"msg":"success","data":{}}' };
    const feishu = build({ type: 'feishu', url: hook(), secret: 'feishu-secret' });
    expect(await feishu.send(firing, patient())).toEqual({
      ok: true,
      status: 200,
      detail: 'code 0 success',
      retryable: false,
    });
    const seconds = Math.floor(startsAt / 1000);
    expect(robot.received[0]!.url).toBe('/open-apis/bot/v2/hook/feishu-hook-token-0123');
    expect(robot.lastJson()).toEqual({
      timestamp: String(seconds),
      sign: createHmac('sha256', `${seconds}\nfeishu-secret`).update('').digest('base64'),
      msg_type: 'text',
      content: { text: `[FIRING] assistd latency-p99-high\n\n- ${firingLine}\n` },
    });
  });

  it('accepts the older StatusCode answer, and hides the hook token in failures', async () => {
    robot.reply = { status: 200, body: '{"StatusCode":0,"StatusMessage":"success"}' };
    const feishu = build({ type: 'feishu', url: hook() });
    expect(await feishu.send(firing, patient())).toMatchObject({ ok: true });
    expect(robot.lastJson()).toEqual({
      msg_type: 'text',
      content: { text: `[FIRING] assistd latency-p99-high\n\n- ${firingLine}\n` },
    });
    robot.reply = {
      status: 200,
      body: '{"code":19001,"msg":"param invalid: incoming webhook access token invalid feishu-hook-token-0123"}',
    };
    const failed = await feishu.send(firing, patient());
    expect(failed).toEqual({
      ok: false,
      status: 200,
      detail: 'code 19001 param invalid: incoming webhook access token invalid ***',
      retryable: false,
    });
    robot.reply = { status: 200, body: '{"code":11232,"msg":"frequency limited"}' };
    expect(await feishu.send(firing, patient())).toMatchObject({
      ok: false,
      retryable: true,
      retryAfterMs: 60_000,
    });
  });
});
