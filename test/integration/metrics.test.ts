import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

type ErrorBody = { error: { code: string; param: string | null; message: string } };
interface SeriesBody {
  resolution_ms: number;
  step_ms: number;
  series: Array<{ metric: string; aggregation: string; points: Array<[number, number | null]> }>;
}
const hello = { messages: [{ role: 'user', content: 'hello there' }] };

describe('metrics', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ config: { metrics: { listen: '127.0.0.1:0' } } });
    for (let i = 0; i < 5; i++) {
      expect((await harness.request('/v1/chat', { body: hello })).status).toBe(200);
    }
    const stream = await harness.request('/v1/chat/completions', {
      body: { ...hello, model: 'gpt-4o-mini', stream: true },
    });
    await stream.text();
    await harness.request('/v1/no-such-thing/12345');
  });
  afterAll(async () => {
    await harness.close();
  });

  it('serves Prometheus text to a token allowed get:metrics, and 403 to others', async () => {
    const denied = await harness.json<ErrorBody>('/metrics', { principal: 'someone' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('permission_denied');
    const response = await harness.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(
      /assistd_http_requests_total\{route="\/v1\/chat",method="POST",status="200"\} 5/,
    );
    expect(text).toMatch(
      /assistd_http_request_duration_seconds_bucket\{le="2",route="\/v1\/chat",method="POST"\} 5/,
    );
    // Unknown paths are one label value, whatever the path was.
    expect(text).toMatch(/route="unmatched",method="GET",status="404"\} 1/);
    expect(text).not.toContain('12345');
    expect(text).toMatch(/assistd_tokens_total\{model="gpt-4o-mini",direction="out"\} \d+/);
    expect(text).toMatch(/assistd_time_to_first_token_seconds_count\{model="gpt-4o-mini"\} 1/);
    expect(text).toMatch(
      /assistd_upstream_request_duration_seconds_count\{provider="openai-compatible",model="gpt-4o-mini"\} 6/,
    );
    expect(text).toMatch(/assistd_store_write_duration_seconds_count\{operation="append_turn"\} 5/);
    expect(text).toMatch(/assistd_audit_write_duration_seconds_count \d+/);
    expect(text).toMatch(/assistd_context_cache_events_total\{event="miss"\} \d+/);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^assistd_system_cpu_utilisation_ratio /m);
  });

  it('labels carry no principal, conversation or request id', async () => {
    const text = await (await harness.request('/metrics')).text();
    const labelValues = [...text.matchAll(/="([^"]*)"/g)].map((match) => match[1]!);
    for (const value of labelValues) {
      expect(value).not.toMatch(/admin|someone|conv_|chat_|[0-9a-f]{8}-[0-9a-f]{4}/);
    }
  });

  it('serves /metrics without a token on the separate listener, and nothing else there', async () => {
    const url = harness.server.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('assistd_http_requests_total');
    expect((await fetch(`${url}/v1/models`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('serves the time series to admins, with the requests just made', async () => {
    const response = await harness.json<SeriesBody>(
      '/admin/metrics/series?series=requests_per_second:avg,request_latency_ms:p99,error_rate_percent&range=5m',
    );
    expect(response.status).toBe(200);
    expect(response.body.resolution_ms).toBe(10_000);
    const [rate, p99, errors] = response.body.series;
    const last = (points: Array<[number, number | null]>) =>
      points.filter(([, value]) => value !== null).at(-1)?.[1];
    expect(rate!.metric).toBe('requests_per_second');
    expect(last(rate!.points)).toBeGreaterThan(0);
    expect(last(p99!.points)).toBeGreaterThan(0);
    expect(last(errors!.points)).toBe(0);
    expect(rate!.points.length).toBeLessThanOrEqual(31);
    const denied = await harness.request('/admin/metrics/series', { principal: 'someone' });
    expect(denied.status).toBe(403);
    const all = await harness.json<SeriesBody>('/admin/metrics/series');
    expect(all.body.series.map((s) => `${s.metric}:${s.aggregation}`)).toContain(
      'request_latency_ms:p99',
    );
  });

  it('refuses bad series queries with 400 naming the parameter', async () => {
    for (const [query, param] of [
      ['series=nope', 'series'],
      ['series=cpu_percent:p99', 'series'],
      ['range=forever', 'range'],
      ['step=-1s', 'step'],
      ['extra=1', null],
    ] as const) {
      const response = await harness.json<ErrorBody>(`/admin/metrics/series?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe('invalid_request');
      if (param !== null)
        expect(response.body.error.message, query).toMatch(new RegExp(param, 'i'));
    }
  });
});

describe('metrics off', () => {
  it('has no /metrics and no series (404)', async () => {
    const harness = await Harness.start({ config: { metrics: { enabled: false } } });
    try {
      expect((await harness.request('/metrics')).status).toBe(404);
      expect((await harness.request('/admin/metrics/series')).status).toBe(404);
      expect((await harness.request('/v1/chat', { body: hello })).status).toBe(200);
    } finally {
      await harness.close();
    }
  });
});
