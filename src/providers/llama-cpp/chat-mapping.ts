import type { ChatHistoryItem } from 'node-llama-cpp';
import { contentText } from '../content.js';
import type { ChatMessage, FinishReason } from '../types.js';

// Between the ChatModel types and node-llama-cpp's: the request as a chat history, and why
// generation stopped as a finish reason. (Types only from node-llama-cpp: nothing loads it.)

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
