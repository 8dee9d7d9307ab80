import { randomInt } from 'node:crypto';
import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelFunctions,
  ChatModelResponse,
  LlamaChat,
  Token,
} from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import { contentText } from '../content.js';
import type { ChatMessage, ChatRequest, FinishReason } from '../types.js';

// Between the ChatModel types and node-llama-cpp's: the request as a chat history and sampling
// options, and why generation stopped as a finish reason. (Types only from node-llama-cpp:
// nothing loads it.)

/** node-llama-cpp's stop reason as the finish reason the API reports. */
export function finishReasonOf(stopReason: string): FinishReason {
  switch (stopReason) {
    case 'maxTokens':
      return 'length';
    case 'abort':
      return 'abort';
    case 'functionCalls':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

/**
 * The request's messages as node-llama-cpp's chat history, ending with the model turn to write.
 * An assistant's tool calls become function calls of its turn, each with the result its tool
 * message gave (a tool message answers the latest call with its id: clients that number calls
 * per turn reuse ids), and the chat template writes both in its own syntax. After a turn's
 * calls and results the model goes on in that same turn, as node-llama-cpp's own sessions do
 * (templates such as Qwen's and Llama 3.1's reopen the assistant turn after the results): an
 * assistant message that follows them joins that turn, and when the history ends with them no
 * empty turn is added. A call no tool message answers is a 400, as OpenAI's.
 */
export function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const latestCall = new Map<string, ChatModelFunctionCall>();
  const unanswered = new Map<ChatModelFunctionCall, { at: string; id: string }>();
  const callsOfTheLastAssistant = new Set<ChatModelFunctionCall>();
  messages.forEach((message, index) => {
    const text = contentText(message.content);
    if (message.role === 'tool') {
      const call = latestCall.get(message.toolCallId ?? '');
      if (call === undefined) return; // the route checked that it answers an earlier call
      const where = `messages[${index}].tool_call_id`;
      if (!unanswered.has(call)) {
        throw new AppError(
          'invalid_request',
          `${where}: call "${message.toolCallId}" has its result already.`,
          {
            param: where,
          },
        );
      }
      // The template writes a result right after its call: one after a later message would
      // silently move ahead of it, as OpenAI's API refuses too.
      if (!callsOfTheLastAssistant.has(call)) {
        throw new AppError(
          'invalid_request',
          `${where}: a tool message must follow the assistant message whose call it answers ` +
            '(or the other tool messages answering it).',
          { param: where },
        );
      }
      call.result = jsonOrText(text);
      unanswered.delete(call);
    } else if (message.role === 'system' || message.role === 'user') {
      callsOfTheLastAssistant.clear();
      history.push(message.role === 'system' ? { type: 'system', text } : { type: 'user', text });
    } else {
      callsOfTheLastAssistant.clear();
      const last = history.at(-1);
      const turn = last?.type === 'model' && endsWithCall(last) ? last : undefined;
      const response = turn?.response ?? [];
      if (text !== '') response.push(text);
      message.toolCalls?.forEach((call, callIndex) => {
        const first = message.toolCalls!.findIndex((other) => other.id === call.id);
        if (first !== callIndex) {
          throw new AppError(
            'invalid_request',
            `messages[${index}].tool_calls[${callIndex}]: the id "${call.id}" is that of ` +
              `tool_calls[${first}] too; the calls of one message need ids of their own.`,
            { param: `messages[${index}].tool_calls[${callIndex}].id` },
          );
        }
        const made: ChatModelFunctionCall = {
          type: 'functionCall',
          name: call.function.name,
          params: jsonOrText(call.function.arguments),
          result: undefined,
          // Calls of one message are one parallel section for templates that group them.
          ...(callIndex === 0 ? { startsNewChunk: true } : {}),
        };
        response.push(made);
        latestCall.set(call.id, made);
        callsOfTheLastAssistant.add(made);
        unanswered.set(made, { at: `messages[${index}].tool_calls[${callIndex}]`, id: call.id });
      });
      if (turn === undefined) history.push({ type: 'model', response });
    }
  });
  const [missing] = unanswered.values();
  if (missing !== undefined) {
    throw new AppError(
      'invalid_request',
      `${missing.at}: no tool message answers call "${missing.id}"; ` +
        'each call needs a message {"role": "tool", "tool_call_id": …} with its result.',
      { param: `${missing.at}.id` },
    );
  }
  const last = history.at(-1);
  if (!(last?.type === 'model' && endsWithCall(last)))
    history.push({ type: 'model', response: [] });
  return history;
}

/** Whether a model turn ends with a function call (its results follow; the model goes on). */
function endsWithCall(turn: ChatModelResponse): boolean {
  const last = turn.response.at(-1);
  return typeof last === 'object' && last.type === 'functionCall';
}

/** JSON text as its value (so the template writes it once, not as a quoted string); other text as is. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The request's sampling settings as node-llama-cpp's generation options. */
export function samplingOf(request: ChatRequest, defaultTemperature: number) {
  return {
    temperature: request.temperature ?? defaultTemperature,
    ...(request.topP !== undefined ? { topP: request.topP } : {}),
    // llama.cpp's sampler takes 32 bits, and without a seed uses the current second (identical
    // requests in one second answered alike): a request without one gets a random seed, and a
    // given one keeps its low 32 bits (-1 is 4294967295, not 0 as llama.cpp's clamp made it).
    seed: request.seed === undefined ? randomInt(0, 2 ** 32) : request.seed >>> 0,
    ...(request.stop && request.stop.length > 0 ? { customStopTriggers: request.stop } : {}),
    // OpenAI semantics: no repetition penalty unless the request asks for one.
    repeatPenalty:
      request.presencePenalty || request.frequencyPenalty
        ? {
            penalty: 1,
            presencePenalty: request.presencePenalty ?? 0,
            frequencyPenalty: request.frequencyPenalty ?? 0,
          }
        : (false as const),
  };
}

/**
 * The prompt's tokens as the chat template writes them (with the functions it documents), and
 * the room left in the window. Measured exactly, so nothing is ever shifted out of the window
 * silently: a prompt that does not fit is refused (the dialog engine trims history before it
 * gets here), naming the tools when their documentation is what does not fit; the answer is
 * capped at the room left, ending with finish_reason "length".
 */
export function measurePrompt(
  chat: LlamaChat,
  history: ChatHistoryItem[],
  functions: { functions: ChatModelFunctions } | undefined,
  limits: { contextSize: number; modelId: string; messages: readonly ChatMessage[] },
): { prompt: Token[]; room: number } {
  const tokens = (chatHistory: ChatHistoryItem[], availableFunctions?: ChatModelFunctions) =>
    chat.chatWrapper
      .generateContextState({
        chatHistory,
        ...(availableFunctions === undefined
          ? {}
          : { availableFunctions, documentFunctionParams: true }),
      })
      .contextText.tokenize(chat.model.tokenizer);
  const prompt = tokens(history, functions?.functions);
  const room = limits.contextSize - prompt.length;
  if (room >= 1) return { prompt, room };
  // The messages alone (without the functions or a forced call's instructions): when they fit,
  // the tools are what does not.
  const bare = tokens(toHistory(limits.messages)).length;
  const tools = bare < limits.contextSize;
  throw new AppError(
    'context_length_exceeded',
    `The prompt is ${prompt.length} tokens${tools ? ` (${prompt.length - bare} of them the tools' documentation)` : ''}, ` +
      `but model "${limits.modelId}" has a ${limits.contextSize}-token window.`,
    { param: tools ? 'tools' : 'messages' },
  );
}
