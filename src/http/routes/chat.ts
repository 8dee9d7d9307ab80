import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { principalOf } from '../plugins/auth.js';
import { chatBodySchema, stopList } from '../schemas.js';
import { chatEvents, sendEventStream, startStream, usageBody } from '../sse.js';
import { parseBody } from '../validate.js';
import { chargedParts, chargePartial, type Limits } from '../plugins/guard.js';
import { partialAnswerOf } from '../../providers/partial-answer.js';

/** `POST /v1/chat`: one turn of a server-side conversation. */
export function chatRoutes(app: FastifyInstance, deps: AppDeps, limits: Limits): void {
  app.post('/v1/chat', { config: { spendsTokens: true } }, async (request, reply) => {
    const body = parseBody(chatBodySchema, request.body);
    const turn = await deps.engine.prepare({
      principal: principalOf(request),
      conversationId: body.conversation_id,
      model: body.model,
      messages: body.messages,
      temperature: body.temperature,
      topP: body.top_p,
      maxTokens: body.max_tokens,
      stop: stopList(body.stop),
      seed: body.seed,
    });
    const { signal } = request.work;
    const principal = principalOf(request).name;
    const charge = (tokens: number) => limits.chargeTokens(principal, tokens);
    reply.header('x-assistd-omitted-messages', String(turn.omittedMessages));

    if (body.stream === true) {
      const parts = await startStream(
        chargedParts(turn.stream(signal), charge, (answer) => turn.estimatedUsage(answer), signal),
      );
      const info = {
        id: turn.id,
        conversationId: turn.conversationId,
        model: turn.modelId,
        omittedMessages: turn.omittedMessages,
      };
      return sendEventStream(
        reply,
        chatEvents(info, parts),
        deps.config.limits.stream_stall_seconds * 1000,
        parts,
      );
    }

    let result;
    try {
      result = await turn.generate(signal);
    } catch (error) {
      chargePartial(
        charge,
        (answer) => turn.estimatedUsage(answer),
        partialAnswerOf(error),
        signal,
      );
      throw error;
    }
    charge(result.usage.totalTokens);
    return {
      id: turn.id,
      object: 'chat.turn',
      conversation_id: turn.conversationId,
      model: turn.modelId,
      message: { role: 'assistant', content: result.text },
      finish_reason: result.finishReason,
      usage: usageBody(result.usage),
      omitted_messages: turn.omittedMessages,
    };
  });
}
