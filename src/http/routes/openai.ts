import type { FastifyInstance } from 'fastify';
import { estimatedUsage, promptTokens, textCounter } from '../../dialog/token-estimate.js';
import { assertContentAccepted, assertToolsAccepted } from '../../providers/content.js';
import type { ChatModel, ChatRequest, ToolCall } from '../../providers/types.js';
import type { AppDeps } from '../app.js';
import { completionBodySchema, rejectUnsupported, toChatRequest } from '../completion-body.js';
import { completionEvents, sendEventStream, startStream, usageBody } from '../sse.js';
import { parseBody } from '../validate.js';
import { principalOf } from '../plugins/auth.js';
import { chargedParts, chargePartial, type Limits } from '../plugins/guard.js';
import { partialAnswerOf } from '../../providers/partial-answer.js';

/**
 * The OpenAI-compatible surface: stateless `POST /v1/chat/completions` (nothing is stored) and
 * `GET /v1/models` (each model also says whether it accepts images, tools and JSON output, in
 * `capabilities`). The official `openai` client works against it unchanged.
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
      capabilities: { images: model.images, tools: model.tools, json_output: model.jsonOutput },
    })),
  }));

  app.post('/v1/chat/completions', { config: { spendsTokens: true } }, async (request, reply) => {
    rejectUnsupported(request.body);
    const body = parseBody(completionBodySchema, request.body);
    const chatRequest = toChatRequest(body);
    const model = deps.models.resolve(body.model ?? undefined);
    assertContentAccepted(model, chatRequest.messages);
    assertToolsAccepted(model, chatRequest);
    const id = deps.ids('chatcmpl').replace('_', '-');
    const created = Math.floor(deps.clock() / 1000);
    const { signal } = request.work;

    const principal = principalOf(request).name;
    const charge = (tokens: number) => limits.chargeTokens(principal, tokens);
    const estimate = (answer: string) => estimateUsage(model, chatRequest, answer);

    if (body.stream === true) {
      const parts = await startStream(
        chargedParts(model.stream(chatRequest, signal), charge, estimate, signal),
      );
      const includeUsage = body.stream_options?.include_usage === true;
      return sendEventStream(
        reply,
        completionEvents({ id, created, model: model.id, includeUsage }, parts),
        deps.config.limits.stream_stall_seconds * 1000,
        parts,
      );
    }

    let result;
    try {
      result = await model.generate(chatRequest, signal);
    } catch (error) {
      chargePartial(charge, estimate, partialAnswerOf(error), signal);
      throw error;
    }
    const usage = result.usage ?? estimate(answerText(result.text, result.toolCalls));
    charge(usage.totalTokens);
    const toolCalls = result.toolCalls ?? [];
    return {
      id,
      object: 'chat.completion',
      created,
      model: model.id,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            // OpenAI's form: null when the answer is only calls.
            content: toolCalls.length > 0 && result.text === '' ? null : result.text,
            refusal: null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: result.finishReason,
        },
      ],
      usage: usageBody(usage),
    };
  });
}

/** What an answer's tokens are counted on: its text and its calls' names and arguments. */
function answerText(text: string, calls: readonly ToolCall[] | undefined): string {
  if (calls === undefined) return text;
  let all = text;
  for (const call of calls) all += call.function.name + call.function.arguments;
  return all;
}

/** The prompt counts its tools' definitions and the calls earlier messages made, too. */
function estimateUsage(model: ChatModel, request: ChatRequest, answer: string) {
  const count = textCounter(model);
  let prompt = promptTokens(request.messages, count);
  if (request.tools !== undefined) prompt += count(JSON.stringify(request.tools));
  if (request.responseFormat !== undefined) prompt += count(JSON.stringify(request.responseFormat));
  for (const message of request.messages) {
    if (message.toolCalls !== undefined) prompt += count(answerText('', message.toolCalls));
  }
  return estimatedUsage(prompt, answer, count);
}
