import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../types.js';
import {
  clock,
  firing,
  p99Alert,
  patient,
  resolved,
  startsAt,
  twoFiring,
} from './__fixtures__/notifications.js';
import { Receiver } from './__fixtures__/receiver.js';
import { channelSchema, createNotifier } from './index.js';

// The generic webhook against a real HTTP receiver on 127.0.0.1: each body format exactly, the
// template's escaping, and the HMAC signature verified the way a receiver would.

const gateway = new Receiver();
beforeAll(() => gateway.start());
afterAll(() => gateway.stop());
beforeEach(() => {
  gateway.reset();
  gateway.reply = { status: 200, body: 'ok' };
});

const webhook = (extra: Record<string, unknown> = {}) =>
  createNotifier(
    'pager',
    channelSchema.parse({
      type: 'webhook',
      url: `${gateway.url}/hook`,
      allow_hosts: ['127.0.0.1'],
      ...extra,
    }),
    { clock },
  );

const p99Line =
  'latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z';

describe('format: json (the default)', () => {
  it("posts assistd's document and reads any 2xx as delivered", async () => {
    gateway.reply = { status: 202, body: '{"accepted":true}' };
    expect(await webhook().send(twoFiring, patient())).toEqual({
      ok: true,
      status: 202,
      detail: 'HTTP 202 {"accepted":true}',
      retryable: false,
    });
    expect(gateway.received[0]!.method).toBe('POST');
    const errorLine =
      'error-rate-high (critical): Error rate 12.5 % > 5 % over 5m — since 2026-11-27T01:02:03Z';
    const alert = {
      rule: 'latency-p99-high',
      status: 'firing',
      severity: 'warning',
      summary: 'P99 latency 2350 ms > 2000 ms over 5m',
      metric: 'request_latency_ms',
      aggregation: 'p99',
      comparison: '>',
      threshold: 2000,
      value: 2350,
      starts_at: '2026-11-27T01:02:03Z',
      ends_at: null,
      fingerprint: 'abc123',
      labels: p99Alert.labels,
    };
    expect(gateway.lastJson()).toEqual({
      source: 'assistd',
      status: 'firing',
      test: false,
      group_key: 'ops:error-rate-high,latency-p99-high',
      title: '[FIRING] assistd 2 alerts: latency-p99-high, error-rate-high',
      text:
        '[FIRING] assistd 2 alerts: latency-p99-high, error-rate-high\n\n' +
        `- ${p99Line}\n- ${errorLine}\n\nhttps://assistd.example/console\n`,
      external_url: 'https://assistd.example/console',
      alerts: [
        alert,
        {
          ...alert,
          rule: 'error-rate-high',
          severity: 'critical',
          summary: 'Error rate 12.5 % > 5 % over 5m',
          metric: 'error_rate_percent',
          aggregation: 'avg',
          threshold: 5,
          value: 12.5,
          fingerprint: 'def456',
          labels: twoFiring.alerts[1]!.labels,
        },
      ],
    });
  });

  it('sends PUT with extra headers when configured', async () => {
    await webhook({ method: 'PUT', headers: { 'X-Team': 'ops' } }).send(firing, patient());
    expect(gateway.received[0]!.method).toBe('PUT');
    expect(gateway.received[0]!.headers['x-team']).toBe('ops');
  });
});

describe('format: alertmanager', () => {
  it('sends the version 4 payload; endsAt is the zero time while firing', async () => {
    await webhook({ format: 'alertmanager' }).send(
      { ...firing, externalUrl: 'https://assistd.example/console' },
      patient(),
    );
    const annotations = { summary: 'P99 latency 2350 ms > 2000 ms over 5m', description: p99Line };
    expect(gateway.lastJson()).toEqual({
      version: '4',
      groupKey: 'ops:latency-p99-high',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'pager',
      groupLabels: { alertname: 'latency-p99-high' },
      commonLabels: p99Alert.labels,
      commonAnnotations: annotations,
      externalURL: 'https://assistd.example/console',
      alerts: [
        {
          status: 'firing',
          labels: p99Alert.labels,
          annotations,
          startsAt: '2026-11-27T01:02:03Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://assistd.example/console',
          fingerprint: 'abc123',
        },
      ],
    });
  });

  it('gives a resolved alert its end, and keeps only shared labels common', async () => {
    const mixed: AlertNotification = {
      ...resolved,
      alerts: [
        resolved.alerts[0]!,
        {
          ...resolved.alerts[0]!,
          rule: 'error-rate-high',
          fingerprint: 'def456',
          endsAt: startsAt + 1500,
          labels: { alertname: 'error-rate-high', severity: 'warning', service: 'assistd' },
        },
      ],
    };
    await webhook({ format: 'alertmanager' }).send(mixed, patient());
    const body = gateway.lastJson() as {
      status: string;
      groupLabels: object;
      commonLabels: object;
      externalURL: string;
      alerts: Array<{ status: string; endsAt: string }>;
    };
    expect(body.status).toBe('resolved');
    expect(body.groupLabels).toEqual({});
    expect(body.commonLabels).toEqual({ severity: 'warning', service: 'assistd' });
    expect(body.externalURL).toBe('');
    expect(body.alerts.map((alert) => [alert.status, alert.endsAt])).toEqual([
      ['resolved', '2026-11-27T01:03:03Z'],
      ['resolved', '2026-11-27T01:02:04.5Z'],
    ]);
  });
});

describe('format: template', () => {
  it('fills placeholders so quotes, backslashes, newlines and {{ in alert text stay valid JSON', async () => {
    const tricky: AlertNotification = {
      ...firing,
      alerts: [{ ...p99Alert, summary: 'say "hi" \\ C:\\path\n{{rule}} }} \u0001 end' }],
    };
    const sms = webhook({
      format: 'template',
      template:
        '{"to":"+8613800000000","text":"{{ severity }}: {{summary}}","rule":{{rule}},' +
        '"n":{{count}},"value":{{value}},"status":"{{status}}"}',
    });
    gateway.reply = { status: 200, body: '' };
    expect(await sms.send(tricky, patient())).toEqual({
      ok: true,
      status: 200,
      detail: 'HTTP 200',
      retryable: false,
    });
    expect(gateway.lastJson()).toEqual({
      to: '+8613800000000',
      text: 'warning: say "hi" \\ C:\\path\n{{rule}} }} \u0001 end',
      rule: 'latency-p99-high',
      n: 1,
      value: 2350,
      status: 'firing',
    });
    // No data: a bare {{value}} becomes null, a quoted one empty.
    const noData = { ...firing, alerts: [{ ...p99Alert, value: undefined }] };
    await webhook({ format: 'template', template: '{"v":{{value}},"s":"{{value}}"}' }).send(
      noData,
      patient(),
    );
    expect(gateway.lastJson()).toEqual({ v: null, s: '' });
  });
});

describe('hmac_secret', () => {
  it('signs TIMESTAMP + "." + BODY, verifiable by the receiver over the raw body', async () => {
    await webhook({ format: 'alertmanager', hmac_secret: 'hmac-secret-xyz' }).send(
      firing,
      patient(),
    );
    const { headers, text } = gateway.received[0]!;
    const timestamp = headers['x-assistd-timestamp'] as string;
    expect(timestamp).toBe(String(Math.floor(startsAt / 1000)));
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', 'hmac-secret-xyz').update(`${timestamp}.${text}`).digest('hex')}`,
    );
    const given = Buffer.from(headers['x-assistd-signature'] as string);
    expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
  });

  it('keeps the secret, a secret URL and credential headers out of the detail', async () => {
    gateway.reply = {
      status: 401,
      body: 'bad signature for hmac-secret-xyz, token Bearer-abcdefgh12345678',
    };
    const result = await webhook({
      hmac_secret: 'hmac-secret-xyz',
      headers: { Authorization: 'Bearer Bearer-abcdefgh12345678' },
    }).send(firing, patient());
    expect(result).toEqual({
      ok: false,
      status: 401,
      detail: 'HTTP 401 bad signature for ***, token ***',
      retryable: false,
    });
  });
});
