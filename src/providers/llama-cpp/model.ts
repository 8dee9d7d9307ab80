import type { ChatHistoryItem, LlamaChat, LlamaGrammar } from 'node-llama-cpp';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { gatherAnswer } from '../partial-answer.js';
import type { Clock } from '../../util/ids.js';
import type {
  ChatModel,
  ChatRequest,
  FinishReason,
  GenerateResult,
  ModelCapabilities,
  ModelHealth,
  StreamPart,
  ToolCall,
  Usage,
} from '../types.js';
import { finishReasonOf, measurePrompt, samplingOf } from './chat-mapping.js';
import { historyFingerprints, withAnswer } from './history-fingerprint.js';
import type { Runtime } from './runtime.js';
import { answerEnd, ForcedCallStream, toolCall } from './call-stream.js';
import { badCallError, functionOptions, preparedAnswer, type ToolPlan } from './tool-calls.js';
import { SequencePool, type PoolStats, type Slot } from './sequence-pool.js';

export interface LlamaCppModelOptions {
  /** Model id in /v1/models. */
  id: string;
  /** The `.gguf` file (already checked by `inspectModelFile`). */
  path: string;
  /** Chats decoded together; one context sequence each (`max_batch_size`). */
  maxBatchSize: number;
  /** Tokens per sequence: the context window each chat gets. */
  contextSize: number;
  threads: number;
  gpu: boolean;
  /** Requests that may wait for a busy engine, and for how long (ms), before 429. */
  maxQueue: number;
  queueTimeoutMs: number;
  /** How long an idle sequence stays reserved for its conversation (ms). */
  affinityTtlMs: number;
  /** Answer length when a request sets no `max_tokens`. */
  defaultMaxTokens: number;
  /** Temperature when a request sets none. */
  defaultTemperature: number;
  /** Shown in /v1/models, e.g. that this is the demo model. */
  description?: string | undefined;
  logger: Logger;
  clock?: Clock;
}

type State =
  | { kind: 'loading'; progress: number }
  | { kind: 'ready'; runtime: Runtime; pool: SequencePool<LlamaChat> }
  | { kind: 'failed'; reason: string }
  | { kind: 'closed' };

/** Counters for tests and benchmarks: what the engine has evaluated and reused. */
export interface EngineStats extends PoolStats {
  /** Prompt tokens evaluated (not found in a sequence's KV cache). */
  evaluatedPromptTokens: number;
  /** Prompt tokens found already evaluated in the sequence (KV reuse). */
  reusedPromptTokens: number;
  generatedTokens: number;
  contextShifts: number;
}

/**
 * A GGUF model run in this process by llama.cpp (node-llama-cpp). One context holds
 * `maxBatchSize` sequences; each running chat holds one, and node-llama-cpp decodes the pending
 * tokens of all of them in one batch per step, so a new chat joins between steps. A follow-up turn
 * gets back the sequence that holds its history and evaluates only its new tokens.
 */
export class LlamaCppModel implements ChatModel {
  readonly id: string;
  readonly provider = 'llama-cpp';
  readonly capabilities: ModelCapabilities;
  readonly description: string | undefined;
  private state: State = { kind: 'loading', progress: 0 };
  private readonly loaded: Promise<void>;
  private readonly loadAbort = new AbortController();
  private readonly totals = {
    evaluatedPromptTokens: 0,
    reusedPromptTokens: 0,
    generatedTokens: 0,
    contextShifts: 0,
  };

  constructor(private readonly options: LlamaCppModelOptions) {
    this.id = options.id;
    this.description = options.description;
    // Chat templates of GGUF models cost more than OpenAI's 4 tokens a message (ChatML 8 for a
    // user message, 13 for an assistant's, 12 to prime the reply; Llama 3 about 5): a margin
    // above all of them, so the history the dialog engine fits always fits the context.
    // JSON output and forced function calls through llama.cpp's grammars (json-output.ts,
    // tool-calls.ts); other function calls in the syntax of the model's chat template.
    this.capabilities = {
      images: false,
      tools: true,
      jsonOutput: true,
      contextWindow: options.contextSize,
      templateTokens: { perMessage: 16, reply: 16 },
    };
    this.loaded = this.load();
  }

  get unavailable(): string | undefined {
    return this.state.kind === 'failed' ? this.state.reason : undefined;
  }

  /** Resolves when loading has ended, loaded or failed. */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /** Sequences in the one context (`max_batch_size`). */
  get maxBatchSize(): number {
    return this.options.maxBatchSize;
  }

  stats(): EngineStats {
    const pool =
      this.state.kind === 'ready'
        ? this.state.pool.snapshot()
        : { busy: 0, queued: 0, affinityHits: 0, reclaimed: 0, rejected: 0 };
    return { ...pool, ...this.totals };
  }

  countTokens(text: string): number {
    return this.ready().runtime.model.tokenize(text).length;
  }

  check(): Promise<ModelHealth> {
    const state = this.state;
    switch (state.kind) {
      case 'ready':
        return Promise.resolve({ ok: true });
      case 'loading':
        return Promise.resolve({
          ok: false,
          reason: `the local model is loading (${Math.round(state.progress * 100)} %)`,
        });
      case 'failed':
        return Promise.resolve({ ok: false, reason: state.reason });
      case 'closed':
        return Promise.resolve({ ok: false, reason: 'the local model is closed' });
    }
  }

  generate(request: ChatRequest, signal: AbortSignal): Promise<GenerateResult> {
    return gatherAnswer(this.stream(request, signal));
  }

  /**
   * Streams one answer. Waiting for a slot, and failing to get one (429 `server_busy`), happen
   * before the first part, so the caller can still answer with an HTTP status.
   */
  async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamPart> {
    const { pool, runtime } = this.ready();
    // A schema the grammar cannot enforce, or a call without its result, is a 400 before any
    // slot is taken.
    const prepared = preparedAnswer(request, runtime.grammars);
    const { plan, history } = prepared;
    const grammar = prepared.grammar === undefined ? undefined : await prepared.grammar;
    const fingerprints = historyFingerprints(request.messages);
    const slot = await pool.acquire([...fingerprints].reverse(), signal);
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });

    const chunks: string[] = [];
    let wake: (() => void) | undefined;
    let settled = false;
    const generation = this.run(slot, request, history, plan, grammar, stop.signal, (text) => {
      if (text === '') return;
      chunks.push(text);
      wake?.();
    }).finally(() => {
      settled = true;
      wake?.();
    });
    let answer = '';
    let yielded = false;
    let fingerprint: string | undefined;
    // A forced call's text is its JSON: it goes out as the call, as it is written.
    const forced = plan.kind === 'forced' ? new ForcedCallStream() : undefined;
    try {
      for (;;) {
        if (chunks.length > 0) {
          for (const text of chunks.splice(0)) {
            answer += text;
            for (const part of forced?.push(text) ?? [{ type: 'text-delta', text } as const]) {
              yielded = true;
              yield part;
            }
          }
          continue;
        }
        if (settled) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      const outcome = await generation.catch((error: unknown) => error as Error);
      if (outcome instanceof Error || signal.aborted) {
        // Cut short by the caller (client gone, server draining) or failed: the answer so far
        // is incomplete, and the caller learns why.
        const error = this.failure(outcome instanceof Error ? outcome : undefined, signal);
        if (!yielded) throw error;
        yield { type: 'error', error };
        return;
      }
      const rest = forced?.end() ?? [];
      const called = forced?.called ?? false;
      // The answer as the client sends it back next turn: a forced call's content is null.
      fingerprint = withAnswer(fingerprints.at(-1) ?? '', called ? '' : answer);
      yield* rest;
      yield* answerEnd(outcome, forced);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (!settled) {
        // The consumer stopped reading (client gone): stop decoding at the next step.
        stop.abort(new AppError('internal_error', 'the client went away'));
        await generation.catch(() => undefined);
        fingerprint = undefined;
      }
      pool.release(slot, fingerprint);
    }
  }

  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    this.loadAbort.abort();
    if (state.kind === 'ready') {
      state.pool.rejectWaiting(new AppError('shutting_down'));
      await state.runtime.dispose();
    }
  }

  private ready(): { runtime: Runtime; pool: SequencePool<LlamaChat> } {
    const state = this.state;
    if (state.kind === 'ready') return state;
    if (state.kind === 'loading') {
      throw new AppError(
        'model_loading',
        `Model "${this.id}" is still loading (${Math.round(state.progress * 100)} %); retry shortly.`,
        { headers: { 'retry-after': '5' } },
      );
    }
    throw new AppError(
      'model_unavailable',
      `Model "${this.id}" cannot serve: ${state.kind === 'failed' ? state.reason : 'it is closed'}.`,
    );
  }

  private async load(): Promise<void> {
    const { logger } = this.options;
    const started = Date.now();
    let lastLoggedAt = started;
    try {
      // node-llama-cpp (about 40 MB of memory once imported) loads only when a local model does.
      const { loadRuntime } = await import('./runtime.js');
      const runtime = await loadRuntime(
        {
          path: this.options.path,
          sequences: this.options.maxBatchSize,
          contextSize: this.options.contextSize,
          threads: this.options.threads,
          gpu: this.options.gpu,
          logger,
          signal: this.loadAbort.signal,
          activeSequences: () => (this.state.kind === 'ready' ? this.state.pool.busy : 0),
        },
        (fraction) => {
          if (this.state.kind === 'loading') this.state.progress = fraction;
          // Big models take minutes: say how far along, at most once a second.
          const now = Date.now();
          if (now - lastLoggedAt >= 1000) {
            lastLoggedAt = now;
            logger.info(
              { model: this.id, percent: Math.floor(fraction * 100) },
              'loading the local model',
            );
          }
        },
      );
      if (this.state.kind === 'closed') {
        await runtime.dispose();
        return;
      }
      const pool = new SequencePool({
        resources: runtime.chats,
        maxQueue: this.options.maxQueue,
        queueTimeoutMs: this.options.queueTimeoutMs,
        affinityTtlMs: this.options.affinityTtlMs,
        ...(this.options.clock ? { clock: this.options.clock } : {}),
      });
      this.state = { kind: 'ready', runtime, pool };
      logger.info(
        {
          model: this.id,
          ms: Date.now() - started,
          sequences: this.options.maxBatchSize,
          context_size: this.options.contextSize,
          threads: this.options.threads,
          gpu_layers: runtime.model.gpuLayers,
        },
        'local model loaded',
      );
    } catch (error) {
      if (this.state.kind === 'closed') return;
      const reason = `loading ${this.options.path} failed: ${(error as Error).message}`;
      this.state = { kind: 'failed', reason };
      logger.error({ model: this.id, err: error }, reason);
    }
  }

  /** Runs the chat on the slot's sequence and reports what it evaluated. */
  private async run(
    slot: Slot<LlamaChat>,
    request: ChatRequest,
    history: ChatHistoryItem[],
    plan: ToolPlan,
    grammar: LlamaGrammar | undefined,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<{ finishReason: FinishReason; usage: Usage; toolCalls: ToolCall[] }> {
    const chat = slot.resource;
    const meter = chat.sequence.tokenMeter;
    const outputBefore = meter.usedOutputTokens;
    // The template documents the functions in the prompt, so they count in its length.
    const functions = functionOptions(plan);
    const { prompt, room } = measurePrompt(chat, history, functions, {
      contextSize: this.options.contextSize,
      modelId: this.id,
      messages: request.messages,
    });
    const promptTokens = prompt.length;
    // What the sequence already holds of this prompt is not evaluated again (the last prompt
    // token always is: its logits pick the first answer token).
    const reused = Math.min(
      chat.sequence.compareContextTokens(prompt).firstDifferentIndex,
      promptTokens - 1,
    );
    const maxTokens = Math.min(request.maxTokens ?? this.options.defaultMaxTokens, room);
    const response = await chat.generateResponse(history, {
      onTextChunk: onText,
      signal,
      stopOnAbortSignal: true,
      maxTokens,
      ...(grammar === undefined ? (functions ?? {}) : { grammar }),
      // A forced call is whole or cut by max_tokens: stop sequences would break its JSON.
      ...samplingOf(
        plan.kind === 'forced' ? { ...request, stop: undefined } : request,
        this.options.defaultTemperature,
      ),
    });
    const completionTokens = meter.usedOutputTokens - outputBefore;
    this.totals.evaluatedPromptTokens += promptTokens - reused;
    this.totals.reusedPromptTokens += reused;
    this.totals.generatedTokens += completionTokens;
    if (
      response.lastEvaluation.contextShiftMetadata !== null &&
      response.lastEvaluation.contextShiftMetadata !== undefined
    ) {
      this.totals.contextShifts++;
      this.options.logger.warn(
        { model: this.id },
        'the conversation outgrew the context window: the oldest messages were shifted out',
      );
    }
    return {
      toolCalls: (response.functionCalls ?? []).map((call) =>
        toolCall(call.functionName, call.params),
      ),
      finishReason: finishReasonOf(response.metadata.stopReason),
      usage: {
        promptTokens,
        completionTokens,
        totalTokens: promptTokens + completionTokens,
        cachedPromptTokens: reused,
      },
    };
  }

  private failure(error: Error | undefined, signal: AbortSignal): AppError {
    if (error instanceof AppError) return error;
    if (signal.aborted) {
      return signal.reason instanceof AppError
        ? signal.reason
        : new AppError('internal_error', 'The generation was cancelled.');
    }
    const badCall = badCallError(error);
    if (badCall !== undefined) {
      this.options.logger.warn({ model: this.id, err: error }, 'the model wrote a bad call');
      return badCall;
    }
    this.options.logger.error({ model: this.id, err: error }, 'local generation failed');
    return new AppError('internal_error');
  }
}
