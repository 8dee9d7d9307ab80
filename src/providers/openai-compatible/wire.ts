import * as z from '../../util/zod.js';
import type { ChatRequest, FinishReason, Usage } from '../types.js';

/** The body sent to `POST …/chat/completions`. */
export function upstreamBody(model: string, request: ChatRequest, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: request.messages,
    temperature: request.temperature,
    top_p: request.topP,
    max_tokens: request.maxTokens,
    stop: request.stop,
    seed: request.seed,
    presence_penalty: request.presencePenalty,
    frequency_penalty: request.frequencyPenalty,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
  });
}

// Upstream JSON is parsed leniently: unknown fields pass, missing optional ones are fine, and
// only what the gateway uses is checked.

const usageSchema = z
  .looseObject({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative().optional(),
  })
  .nullish();

const finishReasonSchema = z.string().nullish();

const completionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().nullish(),
        message: z.looseObject({ content: z.string().nullish() }),
        finish_reason: finishReasonSchema,
      }),
    )
    .min(1),
  usage: usageSchema,
});

const chunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().nullish(),
        delta: z.looseObject({ content: z.string().nullish() }).nullish(),
        finish_reason: finishReasonSchema,
      }),
    )
    .nullish(),
  usage: usageSchema,
  error: z.looseObject({ message: z.string().optional() }).optional(),
});

const errorBodySchema = z.looseObject({
  error: z.union([z.looseObject({ message: z.string() }), z.string()]),
});

const modelListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string().min(1) })),
});

export interface ParsedCompletion {
  text: string;
  finishReason: FinishReason;
  usage: Usage | undefined;
}

export interface ParsedChunk {
  text: string;
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  errorMessage: string | undefined;
}

/** Parses a JSON text; `undefined` when it is not JSON. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function parseCompletion(value: unknown): ParsedCompletion | undefined {
  const parsed = completionSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const choice = firstChoice(parsed.data.choices);
  if (choice === undefined) return undefined;
  return {
    text: choice.message.content ?? '',
    finishReason: toFinishReason(choice.finish_reason) ?? 'stop',
    usage: toUsage(parsed.data.usage),
  };
}

export function parseChunk(value: unknown): ParsedChunk | undefined {
  const parsed = chunkSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const choice = firstChoice(parsed.data.choices ?? []);
  return {
    text: choice?.delta?.content ?? '',
    finishReason: toFinishReason(choice?.finish_reason),
    usage: toUsage(parsed.data.usage),
    errorMessage: parsed.data.error ? (parsed.data.error.message ?? 'stream error') : undefined,
  };
}

/** The `error.message` of an OpenAI-shaped error body, if there is one. */
export function parseErrorMessage(text: string): string | undefined {
  const parsed = errorBodySchema.safeParse(tryParseJson(text));
  if (!parsed.success) return undefined;
  const error = parsed.data.error;
  return typeof error === 'string' ? error : error.message;
}

export function parseModelIds(value: unknown): string[] | undefined {
  const parsed = modelListSchema.safeParse(value);
  return parsed.success ? parsed.data.data.map((model) => model.id) : undefined;
}

/**
 * The answer: the choice with index 0 (one without an index counts as 0). This gateway asks for
 * one choice (`n` is 1); an endpoint that sends others anyway, in the same chunk or interleaved
 * in a stream, must not have their text mixed into the answer.
 */
function firstChoice<Choice extends { index?: number | null | undefined }>(
  choices: readonly Choice[],
): Choice | undefined {
  return choices.find((choice) => (choice.index ?? 0) === 0);
}

function toFinishReason(value: string | null | undefined): FinishReason | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === 'length') return 'length';
  if (value === 'content_filter') return 'content_filter';
  return 'stop';
}

function toUsage(value: z.output<typeof usageSchema>): Usage | undefined {
  if (value === null || value === undefined) return undefined;
  return {
    promptTokens: value.prompt_tokens,
    completionTokens: value.completion_tokens,
    totalTokens: value.total_tokens ?? value.prompt_tokens + value.completion_tokens,
  };
}
