import { useMemo } from 'preact/hooks';
import { renderMarkdown } from '../markdown';
import type { ChatMessageView } from '../messages';

/**
 * An answer rendered as Markdown. The HTML is sanitised by renderMarkdown before it is inserted;
 * while streaming it is rebuilt at most once per animation frame (the chat hook throttles).
 */
export function AssistantMessage({ message }: { message: ChatMessageView }) {
  const html = useMemo(() => renderMarkdown(message.content), [message.content]);
  const waiting = message.state === 'streaming' && message.content === '';
  return (
    <li
      class={`message message--assistant message--${message.state}`}
      data-testid="assistant-message"
      data-state={message.state}
      aria-busy={message.state === 'streaming'}
    >
      <span class="message-role">Assistant</span>
      {waiting ? (
        <p class="message-waiting">
          <span class="typing-dots" aria-hidden="true" />
          <span class="visually-hidden">Waiting for the answer</span>
        </p>
      ) : (
        <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />
      )}
      {message.note !== undefined && (
        <p class={message.state === 'error' ? 'message-note message-note--error' : 'message-note'}>
          {message.note}
        </p>
      )}
    </li>
  );
}
