import type { Logger } from 'pino';
import { CallDeadline } from '../call-deadline.js';
import { ProviderError } from '../provider-error.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import type {
  ChatModel,
  ChatRequest,
  FinishReason,
  GenerateResult,
  ModelCapabilities,
  ModelHealth,
  StreamPart,
  Usage,
} from '../types.js';
import { Endpoint, type EndpointOptions } from './http.js';
import { readSseData } from './sse-parser.js';
import { ToolCallNumbering } from './tool-call-stream.js';
import {
  maxToolCalls,
  parseChunk,
  parseCompletion,
  parseModelIds,
  tryParseJson,
  upstreamBody,
} from './wire.js';

export interface OpenAICompatibleOptions extends EndpointOptions {
  /** Model name at the endpoint; also the id in /v1/models. */
  modelName: string;
  capabilities: ModelCapabilities;
  retry: RetryPolicy;
  /** The whole call's deadline, retries and streaming included (call-deadline.ts). */
  totalTimeoutMs: number;
  logger: Logger;
}

/**
 * Characters of text one streamed answer may hold. The caller accumulates the answer (to store
 * it, to count its tokens), so an endpoint that streams forever would otherwise grow it without
 * limit: past this bound the stream ends with `upstream_bad_response` and what came before is
 * stored as incomplete. 16 Mi characters take 32 MiB as a JavaScript string, the bound of a
 * non-streamed answer's body (http.ts), and hold far more than any model's window.
 */
export const maxStreamedAnswerChars = 16 * 1024 * 1024;

/**
 * After the chunk that carries `finish_reason`, how long the stream may take to send the rest
 * (the usage chunk, `[DONE]`, the end of the body), ms. The answer is whole by then: an endpoint
 * that keeps the connection open, or resets it, after finishing does not turn a complete answer
 * into an idle timeout stored as incomplete.
 */
export const finishGraceMs = 2_000;

/** `pending`'s value, or undefined when it has not settled within `ms` (its failure is then dropped). */
async function settledWithin<T>(pending: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
    pending.catch(() => undefined);
  }
}

/** How long a readiness probe result is reused, so probes do not hammer the endpoint. */
const healthCacheMs = 5_000;
const probeTimeoutMs = 5_000;

/** A model behind any OpenAI-compatible `/chat/completions` endpoint. */
export class OpenAICompatibleModel implements ChatModel {
  readonly provider = 'openai-compatible';
  readonly id: string;
  readonly capabilities: ModelCapabilities;
  private readonly endpoint: Endpoint;
  private lastHealth: { at: number; result: ModelHealth } | undefined;

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.id = options.modelName;
    this.capabilities = options.capabilities;
    this.endpoint = new Endpoint(options);
  }

  async generate(request: ChatRequest, caller: AbortSignal): Promise<GenerateResult> {
    const body = upstreamBody(this.id, request, false);
    const deadline = new CallDeadline(caller, this.options.totalTimeoutMs);
    const signal = deadline.signal;
    try {
      return await this.retried(async () => {
        const response = await this.endpoint.send('POST', this.endpoint.chatPath, body, signal);
        const text = await this.endpoint.readText(response.body, signal);
        const parsed = parseCompletion(tryParseJson(text));
        if (parsed === undefined) {
          throw new ProviderError({
            failure: 'malformed',
            message: 'model endpoint answer is not a chat completion',
            body: text.slice(0, 500),
          });
        }
        return parsed;
      }, signal);
    } finally {
      deadline.end();
    }
  }

  async *stream(request: ChatRequest, caller: AbortSignal): AsyncGenerator<StreamPart> {
    const body = upstreamBody(this.id, request, true);
    const deadline = new CallDeadline(caller, this.options.totalTimeoutMs);
    const signal = deadline.signal;
    let parts: AsyncGenerator<StreamPart> | undefined;
    try {
      // Retries cover everything up to the first part; after that the client has bytes.
      const opened = await this.retried(() => this.openStream(body, signal), signal);
      parts = opened.parts;
      yield opened.first;
      if (opened.first.type === 'finish') return;
      for (;;) {
        let next: IteratorResult<StreamPart>;
        try {
          next = await parts.next();
        } catch (error) {
          yield { type: 'error', error: this.endpoint.classify(error, signal).toAppError() };
          return;
        }
        if (next.done === true) return;
        yield next.value;
        if (next.value.type === 'finish' || next.value.type === 'error') return;
      }
    } finally {
      await parts?.return(undefined);
      deadline.end();
    }
  }

  async check(signal: AbortSignal): Promise<ModelHealth> {
    const now = Date.now();
    if (this.lastHealth && now - this.lastHealth.at < healthCacheMs) return this.lastHealth.result;
    const result = await this.probe(signal);
    this.lastHealth = { at: now, result };
    return result;
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }

  /** Opens a streamed call and reads up to its first part. */
  private async openStream(body: string, signal: AbortSignal) {
    const response = await this.endpoint.send('POST', this.endpoint.chatPath, body, signal);
    const parts = this.partsOf(response.body, signal);
    try {
      const first = await parts.next();
      if (first.done === true) throw new Error('unreachable: parts always finish');
      return { first: first.value, parts };
    } catch (error) {
      await parts.return(undefined).catch(() => undefined);
      throw this.endpoint.classify(error, signal);
    }
  }

  /** Turns the SSE body into stream parts; ends with one `finish`; throws on bad data. */
  private async *partsOf(
    body: Parameters<Endpoint['readText']>[0],
    signal: AbortSignal,
  ): AsyncGenerator<StreamPart> {
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    let done = false;
    let answerChars = 0;
    const numbering = new ToolCallNumbering();
    const events = readSseData(body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<string> | undefined;
        try {
          next =
            finishReason === undefined
              ? await events.next()
              : await settledWithin(events.next(), finishGraceMs);
        } catch (error) {
          // Reset or timed out after the answer finished: it is whole all the same.
          if (finishReason === undefined || signal.aborted) throw error;
          next = undefined;
        }
        if (next === undefined || next.done === true) break;
        const data = next.value;
        if (data === '[DONE]') {
          done = true;
          break;
        }
        const chunk = parseChunk(tryParseJson(data));
        if (chunk === undefined) {
          throw new ProviderError({
            failure: 'malformed',
            message: 'model endpoint sent a stream event that is not a chat completion chunk',
            body: data.slice(0, 500),
          });
        }
        if (chunk.errorMessage !== undefined) {
          throw new ProviderError({
            failure: 'http',
            status: 502,
            message: `model endpoint reported an error mid-stream: ${chunk.errorMessage}`,
          });
        }
        answerChars += chunk.text.length;
        if (chunk.toolCalls !== undefined) {
          for (const call of chunk.toolCalls) {
            answerChars +=
              call.arguments.length + (call.name?.length ?? 0) + (call.id?.length ?? 0);
          }
        }
        if (answerChars > maxStreamedAnswerChars) {
          throw new ProviderError({
            failure: 'malformed',
            message: `model endpoint answer exceeds ${maxStreamedAnswerChars} characters`,
          });
        }
        if (chunk.text !== '') yield { type: 'text-delta', text: chunk.text };
        if (chunk.toolCalls !== undefined) {
          for (const call of chunk.toolCalls) {
            const numbered = numbering.number(call);
            if (numbering.count > maxToolCalls) {
              throw new ProviderError({
                failure: 'malformed',
                message: `model endpoint answer holds more than ${maxToolCalls} tool calls`,
              });
            }
            yield numbered;
          }
        }
        finishReason = chunk.finishReason ?? finishReason;
        usage = chunk.usage ?? usage;
      }
    } finally {
      if (!done) body.destroy();
      // Ends the reader; a read still pending when the grace ran out settles once the body is
      // destroyed.
      void events.return(undefined).catch(() => undefined);
    }
    if (numbering.unnamed && !signal.aborted) {
      throw new ProviderError({
        failure: 'malformed',
        message: 'model endpoint streamed a tool call without a function name',
      });
    }
    if (!done && finishReason === undefined && !signal.aborted) {
      throw new ProviderError({
        failure: 'malformed',
        message: 'model endpoint stream ended before it finished',
      });
    }
    yield { type: 'finish', finishReason: finishReason ?? 'stop', usage };
  }

  private async probe(signal: AbortSignal): Promise<ModelHealth> {
    const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(probeTimeoutMs)]);
    try {
      const response = await this.endpoint.send(
        'GET',
        this.endpoint.modelsPath,
        undefined,
        probeSignal,
        {
          headersTimeout: probeTimeoutMs,
        },
      );
      response.body.resume();
      return { ok: true };
    } catch (error) {
      const failure = this.endpoint.classify(error, probeSignal);
      if (failure.failure === 'http' && failure.status !== undefined && failure.status < 500) {
        if (failure.status === 401 || failure.status === 403) {
          return { ok: false, reason: 'the model endpoint refuses the configured API key' };
        }
        return { ok: true }; // reachable; some endpoints do not implement /models
      }
      return { ok: false, reason: `the model endpoint is unreachable (${failure.message})` };
    }
  }

  /** `attempt` under the retry policy, each retry logged; `signal` ends the waits too. */
  private retried<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return withRetries(attempt, this.options.retry, signal, this.retryObserver);
  }

  private readonly retryObserver = {
    onRetry: (error: ProviderError, attempt: number, delayMs: number) => {
      this.options.logger.warn(
        {
          provider: this.provider,
          status: error.status,
          failure: error.failure,
          attempt,
          delayMs,
        },
        'retrying model call',
      );
    },
  };
}

/**
 * Asks the endpoint for its models and returns the first id; used at start when no model name is
 * configured. Throws a `ProviderError` when the endpoint cannot be asked.
 */
export async function discoverModelName(options: EndpointOptions, signal: AbortSignal) {
  const endpoint = new Endpoint(options);
  try {
    const response = await endpoint.send('GET', endpoint.modelsPath, undefined, signal);
    const ids = parseModelIds(tryParseJson(await endpoint.readText(response.body, signal)));
    if (ids === undefined || ids[0] === undefined) {
      throw new ProviderError({
        failure: 'malformed',
        message: 'the model endpoint lists no models',
      });
    }
    return ids[0];
  } finally {
    await endpoint.close();
  }
}
