import { AppError } from '../errors.js';
import { ProviderError } from '../providers/provider-error.js';
import type {
  ChatModel,
  ChatRequest,
  GenerateResult,
  ModelHealth,
  StreamPart,
} from '../providers/types.js';
import type { ModelMetrics, PrometheusMetrics } from './metrics.js';
import type { TimeSeries } from './series.js';

/** A bounded label for a failed model call: the failure kind and status, or the error code. */
export function errorLabel(error: unknown): string {
  if (error instanceof ProviderError) {
    return error.status === undefined ? error.failure : `${error.failure}_${error.status}`;
  }
  if (error instanceof AppError) return error.code;
  return 'internal';
}

/**
 * A `ChatModel` that measures the one it wraps: call duration, time to first token, tokens in and
 * out, generation rate and failures, into the Prometheus metrics and the time series. Aborts by
 * the caller are not failures of the model and are not counted as errors.
 */
export class InstrumentedModel implements ChatModel {
  private readonly metrics: ModelMetrics;

  constructor(
    private readonly inner: ChatModel,
    prometheus: PrometheusMetrics,
    private readonly series: TimeSeries,
  ) {
    this.metrics = prometheus.forModel(inner.provider, inner.id);
    const count = inner.countTokens?.bind(inner);
    if (count) this.countTokens = count;
  }

  get id(): string {
    return this.inner.id;
  }
  get provider(): string {
    return this.inner.provider;
  }
  get description(): string | undefined {
    return this.inner.description;
  }
  get capabilities(): ChatModel['capabilities'] {
    return this.inner.capabilities;
  }
  get unavailable(): string | undefined {
    return this.inner.unavailable;
  }

  /** The model being measured (for the local engine's own statistics). */
  get measured(): ChatModel {
    return this.inner;
  }

  /** Present only when the measured model has it (callers check for it). */
  readonly countTokens?: (text: string) => number;

  async generate(request: ChatRequest, signal: AbortSignal): Promise<GenerateResult> {
    const started = performance.now();
    try {
      const result = await this.inner.generate(request, signal);
      const seconds = (performance.now() - started) / 1000;
      this.answered(seconds, result.usage, undefined);
      return result;
    } catch (error) {
      this.failed(error, signal);
      throw error;
    }
  }

  async *stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<StreamPart> {
    const started = performance.now();
    let firstAt: number | undefined;
    try {
      for await (const part of this.inner.stream(request, signal)) {
        // The first token of the answer: text, or a tool call's first piece.
        if (
          (part.type === 'text-delta' || part.type === 'tool-call-delta') &&
          firstAt === undefined
        ) {
          firstAt = performance.now();
          const ms = firstAt - started;
          this.metrics.firstToken(ms / 1000);
          this.series.recordFirstToken(ms);
        } else if (part.type === 'finish') {
          const now = performance.now();
          this.answered(
            (now - started) / 1000,
            part.usage,
            firstAt === undefined ? undefined : (now - firstAt) / 1000,
          );
        } else if (part.type === 'error') {
          this.failed(part.error, signal);
        }
        yield part;
      }
    } catch (error) {
      this.failed(error, signal);
      throw error;
    }
  }

  check(signal: AbortSignal): Promise<ModelHealth> {
    return this.inner.check(signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private answered(
    seconds: number,
    usage: GenerateResult['usage'],
    generationSeconds: number | undefined,
  ): void {
    this.metrics.answer(seconds, usage, generationSeconds);
    if (usage) this.series.addTokens(usage.completionTokens);
  }

  private failed(error: unknown, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.metrics.error(errorLabel(error));
  }
}
