import { randomInt } from 'node:crypto';
import type {
  ChatHistoryItem,
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
 * The request's messages as node-llama-cpp's chat history, ending with an empty model turn. An
 * assistant's tool calls become function calls of its turn, each with the result its tool
 * message gave (the chat template writes both in its own syntax); a call no tool message answers
 * is a 400, as OpenAI's.
 */
export function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const results = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'tool' && message.toolCallId !== undefined) {
      results.set(message.toolCallId, contentText(message.content));
    }
  }
  const history: ChatHistoryItem[] = [];
  messages.forEach((message, index) => {
    const text = contentText(message.content);
    if (message.role === 'system') history.push({ type: 'system', text });
    else if (message.role === 'user') history.push({ type: 'user', text });
    else if (message.role === 'assistant') {
      const response: ChatModelResponse['response'] = text === '' ? [] : [text];
      message.toolCalls?.forEach((call, callIndex) => {
        const result = results.get(call.id);
        if (result === undefined) {
          throw new AppError(
            'invalid_request',
            `messages[${index}].tool_calls[${callIndex}]: no tool message answers call "${call.id}"; ` +
              'each call needs a message {"role": "tool", "tool_call_id": …} with its result.',
            { param: `messages[${index}].tool_calls[${callIndex}].id` },
          );
        }
        response.push({
          type: 'functionCall',
          name: call.function.name,
          params: jsonOrText(call.function.arguments),
          result: jsonOrText(result),
        });
      });
      history.push({ type: 'model', response });
    }
    // A tool message went into the turn of the call it answers.
  });
  history.push({ type: 'model', response: [] });
  return history;
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
