import * as z from '../../util/zod.js';
import type { ChatMessage, ChatRequest, FinishReason, ToolCall, Usage } from '../types.js';
import { newToolCallId, type RawToolCallDelta } from './tool-call-stream.js';

/** The body sent to `POST …/chat/completions`. */
export function upstreamBody(model: string, request: ChatRequest, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: request.messages.map(wireMessage),
    temperature: request.temperature,
    top_p: request.topP,
    [request.maxTokensName ?? 'max_tokens']: request.maxTokens,
    stop: request.stop,
    seed: request.seed,
    presence_penalty: request.presencePenalty,
    frequency_penalty: request.frequencyPenalty,
    tools: request.tools,
    tool_choice: request.toolChoice,
    parallel_tool_calls: request.parallelToolCalls,
    response_format: request.responseFormat,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
  });
}

/** A message in OpenAI's shape (most are already: role and content). */
function wireMessage(message: ChatMessage) {
  const { toolCalls, toolCallId } = message;
  if (toolCalls === undefined && toolCallId === undefined) return message;
  return {
    role: message.role,
    name: message.name,
    // An assistant turn that only calls tools has no text: OpenAI's form is null.
    content: toolCalls !== undefined && message.content === '' ? null : message.content,
    tool_calls: toolCalls,
    tool_call_id: toolCallId,
  };
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

/**
 * Tool calls one answer may hold. OpenAI's clients build the answer's calls by index, so an
 * endpoint that numbers them without bound must not make them allocate without bound.
 */
export const maxToolCalls = 128;

const toolCallSchema = z.looseObject({
  // Some endpoints leave the id out: one is made for the call (tool-call-stream.ts).
  id: z.string().min(1).nullish(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const toolCallDeltaSchema = z.looseObject({
  // Some endpoints leave the index out (ToolCallNumbering numbers those calls).
  index: z
    .int()
    .min(0)
    .max(maxToolCalls - 1)
    .optional(),
  id: z.string().min(1).nullish(),
  function: z
    .looseObject({ name: z.string().min(1).nullish(), arguments: z.string().nullish() })
    .nullish(),
});

const completionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().nullish(),
        message: z.looseObject({
          content: z.string().nullish(),
          tool_calls: z.array(toolCallSchema).max(maxToolCalls).nullish(),
          // The deprecated form of one call, which some endpoints still send.
          function_call: toolCallSchema.shape.function.nullish(),
        }),
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
        delta: z
          .looseObject({
            content: z.string().nullish(),
            tool_calls: z.array(toolCallDeltaSchema).max(maxToolCalls).nullish(),
            function_call: toolCallDeltaSchema.shape.function,
          })
          .nullish(),
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
  toolCalls: ToolCall[] | undefined;
  finishReason: FinishReason;
  usage: Usage | undefined;
}

export interface ParsedChunk {
  text: string;
  /** Pieces of tool calls, as sent (numbered by ToolCallNumbering); undefined when none. */
  toolCalls: RawToolCallDelta[] | undefined;
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
  const legacy = choice.message.function_call;
  // Both forms in one answer: every call is kept.
  const calls = legacy
    ? [...(choice.message.tool_calls ?? []), { id: undefined, function: legacy }]
    : choice.message.tool_calls;
  return {
    text: choice.message.content ?? '',
    toolCalls:
      calls === null || calls === undefined || calls.length === 0
        ? undefined
        : calls.map((call) => ({
            id: call.id ?? newToolCallId(),
            type: 'function',
            function: { name: call.function.name, arguments: call.function.arguments },
          })),
    finishReason: toFinishReason(choice.finish_reason) ?? 'stop',
    usage: toUsage(parsed.data.usage),
  };
}

export function parseChunk(value: unknown): ParsedChunk | undefined {
  const parsed = chunkSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const choice = firstChoice(parsed.data.choices ?? []);
  const legacy = choice?.delta?.function_call;
  const calls = legacy
    ? [...(choice?.delta?.tool_calls ?? []), { index: undefined, id: undefined, function: legacy }]
    : choice?.delta?.tool_calls;
  return {
    text: choice?.delta?.content ?? '',
    toolCalls:
      calls === null || calls === undefined || calls.length === 0
        ? undefined
        : calls.map((call) => ({
            index: call.index,
            id: call.id ?? undefined,
            name: call.function?.name ?? undefined,
            arguments: call.function?.arguments ?? '',
          })),
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
  if (value === 'tool_calls' || value === 'function_call') return 'tool_calls';
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
