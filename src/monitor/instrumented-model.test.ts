import { idleMetricSources } from '../../test/support/metric-sources.js';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { ProviderError } from '../providers/provider-error.js';
import type { ChatModel, StreamPart } from '../providers/types.js';
import { InstrumentedModel } from './instrumented-model.js';
import { PrometheusMetrics } from './metrics.js';
import { TimeSeries } from './series.js';

const usage = { promptTokens: 7, completionTokens: 5, totalTokens: 12 };

/** A model whose answers the test scripts: the other side of the interface being measured. */
function scripted(parts: StreamPart[], failure?: Error): ChatModel {
  return {
    id: 'm1',
    provider: 'test-provider',
    capabilities: { images: false, contextWindow: 4096 },
    async generate() {
      if (failure) throw failure;
      return { text: 'hello', finishReason: 'stop', usage };
    },
    async *stream(_request, signal) {
      if (failure) throw failure;
      for (const part of parts) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (signal.aborted) return;
        yield part;
      }
    },
    check: async () => ({ ok: true }),
    close: async () => undefined,
  };
}

function measured(model: ChatModel) {
  const metrics = new PrometheusMetrics(idleMetricSources());
  const series = new TimeSeries();
  return { model: new InstrumentedModel(model, metrics, series), metrics, series };
}

async function text(metrics: PrometheusMetrics): Promise<string> {
  return (await metrics.scrape()).body;
}

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('InstrumentedModel', () => {
  it('measures a stream: first token once, tokens in and out, the whole call', async () => {
    const { model, metrics, series } = measured(
      scripted([
        { type: 'text-delta', text: 'a' },
        { type: 'text-delta', text: 'b' },
        { type: 'finish', finishReason: 'stop', usage },
      ]),
    );
    const parts = [];
    for await (const part of model.stream(request, new AbortController().signal)) parts.push(part);
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'text-delta', 'finish']);
    const body = await text(metrics);
    expect(body).toMatch(/assistd_time_to_first_token_seconds_count\{model="m1"\} 1/);
    expect(body).toMatch(/assistd_tokens_total\{model="m1",direction="in"\} 7/);
    expect(body).toMatch(/assistd_tokens_total\{model="m1",direction="out"\} 5/);
    expect(body).toMatch(
      /assistd_upstream_request_duration_seconds_count\{provider="test-provider",model="m1"\} 1/,
    );
    expect(body).toMatch(/assistd_generation_tokens_per_second_count\{model="m1"\} 1/);
    expect(series.read('ttft_ms', 'p99', 60_000)).toBeGreaterThan(0);
    expect(series.read('tokens_per_second', 'avg', 60_000)).toBeGreaterThan(0);
  });

  it('times the first token of an answer that is only tool calls', async () => {
    const { model, metrics } = measured(
      scripted([
        { type: 'tool-call-delta', index: 0, id: 'c1', name: 'f', arguments: '' },
        { type: 'tool-call-delta', index: 0, arguments: '{}' },
        { type: 'finish', finishReason: 'tool_calls', usage },
      ]),
    );
    for await (const part of model.stream(request, new AbortController().signal)) void part;
    const body = await text(metrics);
    expect(body).toMatch(/assistd_time_to_first_token_seconds_count\{model="m1"\} 1/);
    expect(body).toMatch(/assistd_generation_tokens_per_second_count\{model="m1"\} 1/);
  });

  it('counts failures by a bounded code: thrown, streamed, and from a plain call', async () => {
    const thrown = measured(
      scripted([], new ProviderError({ failure: 'http', status: 502, message: 'bad gateway' })),
    );
    await expect(async () => {
      for await (const part of thrown.model.stream(request, new AbortController().signal)) {
        void part;
      }
    }).rejects.toThrow('bad gateway');
    await expect(thrown.model.generate(request, new AbortController().signal)).rejects.toThrow();
    expect(await text(thrown.metrics)).toMatch(
      /assistd_upstream_errors_total\{provider="test-provider",model="m1",code="http_502"\} 2/,
    );
    const streamed = measured(
      scripted([{ type: 'error', error: new AppError('upstream_timeout') }]),
    );
    for await (const part of streamed.model.stream(request, new AbortController().signal)) {
      void part;
    }
    expect(await text(streamed.metrics)).toMatch(/code="upstream_timeout"\} 1/);
  });

  it('does not count a call the client aborted as a model failure', async () => {
    const { model, metrics } = measured(
      scripted([], new ProviderError({ failure: 'aborted', message: 'aborted' })),
    );
    const abort = new AbortController();
    abort.abort();
    await expect(model.generate(request, abort.signal)).rejects.toThrow();
    expect(await text(metrics)).not.toMatch(/assistd_upstream_errors_total\{/);
  });

  it('offers countTokens only when the measured model does', () => {
    expect(measured(scripted([])).model.countTokens).toBeUndefined();
    const counting = { ...scripted([]), countTokens: (value: string) => value.length };
    expect(measured(counting).model.countTokens?.('four')).toBe(4);
  });
});
