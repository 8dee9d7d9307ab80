import type { StoredMessage } from './api/types';

/** How an answer stands: still arriving, finished, stopped or cut short, or failed. */
export type MessageState = 'streaming' | 'done' | 'stopped' | 'error';

/** A message as the page shows it. */
export interface ChatMessageView {
  /** Stable across re-renders while streaming (the server's id once stored). */
  key: string;
  role: 'user' | 'assistant';
  content: string;
  state: MessageState;
  /** Shown under an answer: why it stopped, or what failed. */
  note?: string | undefined;
}

/** Stored messages to views; system prompts are not part of the transcript. */
export function viewsOf(messages: readonly StoredMessage[]): ChatMessageView[] {
  const views: ChatMessageView[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    views.push({
      key: message.id,
      role: message.role,
      content: textOf(message.content),
      state: message.incomplete ? 'stopped' : 'done',
      note: message.incomplete ? 'This answer was cut short.' : undefined,
    });
  }
  return views;
}

/** The console sends text only; images sent through the API show as a placeholder. */
function textOf(content: StoredMessage['content']): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '[image]')).join('\n');
}

/** The note under an answer for each finish reason the server reports. */
export function finishNote(finishReason: string): string | undefined {
  if (finishReason === 'length') return 'The answer reached its length limit.';
  if (finishReason === 'content_filter') return 'The model’s content filter stopped the answer.';
  return undefined;
}
