import * as z from '../util/zod.js';
import { AppError } from '../errors.js';
import type { ChatMessage, ChatRequest } from '../providers/types.js';
import {
  contentSchema,
  maxTokensSchema,
  stopList,
  stopSchema,
  temperatureSchema,
  topPSchema,
} from './schemas.js';

// The body of `POST /v1/chat/completions` and the model request it becomes.

/** OpenAI parameters this gateway knows and refuses, rather than silently ignoring them. */
const unsupportedParameters: Record<string, string> = {
  functions: 'use "tools"',
  function_call: 'use "tool_choice"',
  logprobs: '',
  top_logprobs: '',
  logit_bias: '',
  audio: '',
  modalities: '',
  prediction: '',
  web_search_options: '',
};

/** The most tools one request may offer, and calls one message may hold (OpenAI's own bound). */
const maxTools = 128;

/**
 * How deeply a JSON Schema (`parameters`, `json_schema.schema`) may nest. It is passed on as
 * given, and serialising it recurses: thousands of levels would overflow the stack.
 */
export const maxSchemaDepth = 64;

const functionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes');

const jsonSchema = z
  .record(z.string(), z.unknown())
  .refine(
    (schema) => depthWithin(schema, maxSchemaDepth),
    `must not nest deeper than ${maxSchemaDepth} levels`,
  );

const toolSchema = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: functionName,
    description: z.string().max(100_000).optional(),
    parameters: jsonSchema.optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolCallSchema = z.strictObject({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.strictObject({
    name: functionName,
    arguments: z.string(),
    // The openai client's `parse` helper adds the arguments parsed; not sent on.
    parsed_arguments: z.unknown().optional(),
  }),
});

const responseFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({
      type: z.literal('json_schema'),
      json_schema: z.strictObject({
        name: functionName,
        description: z.string().max(100_000).optional(),
        schema: jsonSchema.optional(),
        strict: z.boolean().nullish(),
      }),
    }),
  ],
  { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", …}' },
);

const messageSchema = z
  .strictObject({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    // Null only in an assistant message that calls tools (checked below).
    content: contentSchema.nullish(),
    name: z.string().max(64).optional(),
    tool_calls: z.array(toolCallSchema).min(1).max(maxTools).optional(),
    tool_call_id: z.string().min(1).max(256).optional(),
    // What an answer carries that clients send back with it (the openai SDK's own message
    // objects, a Python model_dump()): accepted, and not sent on. A refusal stands in for the
    // text of an answer that has none.
    refusal: z.string().nullish(),
    annotations: z.array(z.unknown()).nullish(),
    parsed: z.unknown().optional(),
    audio: z.null().optional(),
    function_call: z.null().optional(),
  })
  .superRefine((message, context) => {
    const issue = (path: string, text: string) =>
      context.addIssue({ code: 'custom', path: [path], message: text });
    if (message.content === null || message.content === undefined) {
      const refused = typeof message.refusal === 'string' && message.role === 'assistant';
      if (message.tool_calls === undefined && !refused) issue('content', 'is required');
    }
    if (typeof message.refusal === 'string' && message.role !== 'assistant') {
      issue('refusal', 'only an assistant message carries a refusal');
    }
    if (message.tool_calls !== undefined && message.role !== 'assistant') {
      issue('tool_calls', 'only an assistant message carries tool calls');
    }
    if (message.role === 'tool') {
      if (message.tool_call_id === undefined) issue('tool_call_id', 'is required');
      if (Array.isArray(message.content) && message.content.some((p) => p.type !== 'text')) {
        issue('content', 'a tool message holds text only');
      }
    } else if (message.tool_call_id !== undefined) {
      issue('tool_call_id', 'only a tool message answers a tool call');
    }
  });

export const completionBodySchema = z.strictObject({
  model: z.string().min(1).max(256).nullish(),
  messages: z.array(messageSchema).min(1, 'must hold at least one message'),
  temperature: temperatureSchema.nullish(),
  top_p: topPSchema.nullish(),
  max_tokens: maxTokensSchema.nullish(),
  max_completion_tokens: maxTokensSchema.nullish(),
  stop: stopSchema.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  seed: z.int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  n: z.literal(1, 'only n = 1 is supported').nullish(),
  user: z.string().max(256).nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  tools: z.array(toolSchema).min(1).max(maxTools).nullish(),
  tool_choice: z
    .union(
      [
        z.enum(['none', 'auto', 'required']),
        z.strictObject({
          type: z.literal('function'),
          function: z.strictObject({ name: functionName }),
        }),
      ],
      { error: 'must be "none", "auto", "required" or {"type": "function", "function": {"name"}}' },
    )
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.nullish(),
  // Sent as null (some clients fill every member), they ask for nothing: accepted. Any other
  // value was refused by rejectUnsupported, by name, before this schema.
  ...Object.fromEntries(
    Object.keys(unsupportedParameters).map((name) => [name, z.null().optional()]),
  ),
});

export type CompletionBody = z.output<typeof completionBodySchema>;

/** Refuses, by name, a parameter this server does not implement (before the schema's checks). */
export function rejectUnsupported(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  for (const [name, instead] of Object.entries(unsupportedParameters)) {
    if (name in body && (body as Record<string, unknown>)[name] !== null) {
      const hint = instead === '' ? '' : ` (${instead})`;
      throw new AppError(
        'unsupported_parameter',
        `"${name}" is not supported by this server${hint}.`,
        { param: name },
      );
    }
  }
}

/** The model request a valid body asks for; cross-field rules are checked here. */
export function toChatRequest(body: CompletionBody): ChatRequest {
  checkToolUse(body);
  const messages = body.messages.map((message): ChatMessage => {
    const toolCalls = message.tool_calls?.map(({ id, type, function: call }) => ({
      id,
      type,
      function: { name: call.name, arguments: call.arguments },
    }));
    return {
      role: message.role === 'developer' ? 'system' : message.role,
      content: message.content ?? message.refusal ?? '',
      ...(message.name === undefined ? {} : { name: message.name }),
      ...(toolCalls === undefined ? {} : { toolCalls }),
      ...(message.tool_call_id === undefined ? {} : { toolCallId: message.tool_call_id }),
    };
  });
  return {
    messages,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    maxTokensName:
      body.max_completion_tokens === null || body.max_completion_tokens === undefined
        ? undefined
        : 'max_completion_tokens',
    stop: stopList(body.stop),
    seed: body.seed ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    tools: body.tools ?? undefined,
    toolChoice: body.tool_choice ?? undefined,
    parallelToolCalls: body.parallel_tool_calls ?? undefined,
    // "text" is what a model does anyway: not passed on, so any model takes it.
    responseFormat:
      body.response_format === null ||
      body.response_format === undefined ||
      body.response_format.type === 'text'
        ? undefined
        : body.response_format,
  };
}

/**
 * OpenAI's rules for tools across fields: `tool_choice` and `parallel_tool_calls` need `tools`, a
 * chosen function must be one of them, tool names are unique, and a tool message answers a call
 * an earlier assistant message made.
 */
function checkToolUse(body: CompletionBody): void {
  const tools = body.tools ?? undefined;
  const invalid = (param: string, message: string) =>
    new AppError('invalid_request', `${param}: ${message}`, { param });
  if (tools === undefined) {
    if (body.tool_choice !== null && body.tool_choice !== undefined) {
      throw invalid('tool_choice', 'is only allowed when "tools" are given');
    }
    if (body.parallel_tool_calls !== null && body.parallel_tool_calls !== undefined) {
      throw invalid('parallel_tool_calls', 'is only allowed when "tools" are given');
    }
  } else {
    const names = new Set<string>();
    tools.forEach((tool, index) => {
      if (names.has(tool.function.name)) {
        throw invalid(`tools[${index}].function.name`, `"${tool.function.name}" is offered twice`);
      }
      names.add(tool.function.name);
    });
    const choice = body.tool_choice;
    if (typeof choice === 'object' && choice !== null && !names.has(choice.function.name)) {
      throw invalid(
        'tool_choice.function.name',
        `"${choice.function.name}" is not one of the "tools"`,
      );
    }
  }
  let calls: Set<string> | undefined; // most requests make no calls: nothing to allocate
  body.messages.forEach((message, index) => {
    for (const call of message.tool_calls ?? []) (calls ??= new Set()).add(call.id);
    if (message.tool_call_id !== undefined && calls?.has(message.tool_call_id) !== true) {
      throw invalid(
        `messages[${index}].tool_call_id`,
        `"${message.tool_call_id}" answers no tool call of an earlier assistant message`,
      );
    }
  });
}

/** Whether a JSON value nests at most `max` objects or arrays deep (iterative: any depth is safe). */
function depthWithin(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > max) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}
