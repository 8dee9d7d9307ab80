import { randomInt } from 'node:crypto';
import type { ChatHistoryItem } from 'node-llama-cpp';
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
    default:
      return 'stop';
  }
}

/** The request's messages as node-llama-cpp's chat history, ending with an empty model turn. */
export function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message) => {
    const text = contentText(message.content);
    if (message.role === 'system') return { type: 'system', text };
    if (message.role === 'user') return { type: 'user', text };
    return { type: 'model', response: [text] };
  });
  history.push({ type: 'model', response: [] });
  return history;
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
