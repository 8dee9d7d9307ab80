import type { FastifyInstance } from 'fastify';
import * as z from '../../util/zod.js';
import { estimatedUsage, promptTokens, textCounter } from '../../dialog/token-estimate.js';
import { AppError } from '../../errors.js';
import { assertContentAccepted } from '../../providers/content.js';
import type { ChatMessage, ChatModel, ChatRequest, StreamPart } from '../../providers/types.js';
import type { AppDeps } from '../app.js';
import {
  contentSchema,
  maxTokensSchema,
  stopList,
  stopSchema,
  temperatureSchema,
  topPSchema,
} from '../schemas.js';
import { completionEvents, sendEventStream, startStream, usageBody } from '../sse.js';
import { parseBody } from '../validate.js';
import { principalOf } from '../plugins/auth.js';
import { chargedParts, type Limits } from '../plugins/guard.js';

/** OpenAI parameters this gateway knows and refuses, rather than silently ignoring them. */
const unsupportedParameters = [
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'parallel_tool_calls',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'response_format',
  'audio',
  'modalities',
  'prediction',
  'web_search_options',
];

const completionBodySchema = z.strictObject({
  model: z.string().min(1).max(256).nullish(),
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: contentSchema,
        name: z.string().max(64).optional(),
      }),
    )
    .min(1, 'must hold at least one message'),
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
  // Sent as null (some clients fill every member), they ask for nothing: accepted. Any other
  // value was refused by rejectUnsupported, by name, before this schema.
  ...Object.fromEntries(unsupportedParameters.map((name) => [name, z.null().optional()])),
});

/**
 * The OpenAI-compatible surface: stateless `POST /v1/chat/completions` (nothing is stored) and
 * `GET /v1/models` (each model also says whether it accepts images, in `capabilities.images`). The
 * official `openai` client works against it unchanged.
 */
export function openaiRoutes(app: FastifyInstance, deps: AppDeps, limits: Limits): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: deps.models.list().map((model) => ({
      id: model.id,
      object: 'model',
      created: 0,
      owned_by: model.provider,
      available: model.available,
      default: model.isDefault,
      ...(model.description === undefined ? {} : { description: model.description }),
      // An extension the OpenAI clients ignore; the console shows "Attach image" from it.
      capabilities: { images: model.images },
    })),
  }));

  app.post('/v1/chat/completions', async (request, reply) => {
    rejectUnsupported(request.body);
    const body = parseBody(completionBodySchema, request.body);
    const model = deps.models.resolve(body.model ?? undefined);
    const messages = body.messages.map((message): ChatMessage => ({
      role: message.role === 'developer' ? 'system' : message.role,
      content: message.content,
    }));
    assertContentAccepted(model, messages);
    const chatRequest: ChatRequest = {
      messages,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      stop: stopList(body.stop),
      seed: body.seed ?? undefined,
      presencePenalty: body.presence_penalty ?? undefined,
      frequencyPenalty: body.frequency_penalty ?? undefined,
    };
    const id = deps.ids('chatcmpl').replace('_', '-');
    const created = Math.floor(deps.clock() / 1000);
    const { signal } = request.work;

    if (body.stream === true) {
      const principal = principalOf(request).name;
      const parts = await startStream(
        chargedParts(withUsage(model.stream(chatRequest, signal), model, messages), (tokens) =>
          limits.chargeTokens(principal, tokens),
        ),
      );
      const includeUsage = body.stream_options?.include_usage === true;
      return sendEventStream(
        reply,
        completionEvents({ id, created, model: model.id, includeUsage }, parts),
        deps.config.limits.stream_stall_seconds * 1000,
        parts,
      );
    }

    const result = await model.generate(chatRequest, signal);
    const usage = result.usage ?? estimateUsage(model, messages, result.text);
    limits.chargeTokens(principalOf(request).name, usage.totalTokens);
    return {
      id,
      object: 'chat.completion',
      created,
      model: model.id,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.text, refusal: null },
          logprobs: null,
          finish_reason: result.finishReason,
        },
      ],
      usage: usageBody(usage),
    };
  });
}

function rejectUnsupported(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  for (const name of unsupportedParameters) {
    if (name in body && (body as Record<string, unknown>)[name] !== null) {
      throw new AppError('unsupported_parameter', `"${name}" is not supported by this server.`, {
        param: name,
      });
    }
  }
}

/** Fills in usage when the endpoint did not report it (documented as an estimate). */
async function* withUsage(
  parts: AsyncIterable<StreamPart>,
  model: ChatModel,
  messages: ChatMessage[],
) {
  let text = '';
  for await (const part of parts) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'finish' && part.usage === undefined) {
      yield { ...part, usage: estimateUsage(model, messages, text) };
      continue;
    }
    yield part;
  }
}

function estimateUsage(model: ChatModel, messages: ChatMessage[], text: string) {
  const count = textCounter(model);
  return estimatedUsage(promptTokens(messages, count), text, count);
}
