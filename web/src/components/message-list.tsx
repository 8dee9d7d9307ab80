import { useLayoutEffect, useRef } from 'preact/hooks';
import type { ChatMessageView } from '../messages';
import { AssistantMessage } from './assistant-message';
import { UserMessage } from './user-message';

export interface MessageListProps {
  messages: ChatMessageView[];
  loading: boolean;
  /** Earlier messages exist: a button above the first one loads them. */
  hasOlder?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
}

/** How close to the bottom (px) still counts as "following" the conversation. */
const followSlack = 48;

/**
 * The transcript. It follows a streaming answer while the reader is at the bottom, and stays put
 * when they have scrolled up to read.
 */
export function MessageList({
  messages,
  loading,
  hasOlder = false,
  loadingOlder = false,
  onLoadOlder,
}: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const lastKey = useRef<string | undefined>(undefined);
  const firstKey = useRef<string | undefined>(undefined);
  const height = useRef(0);

  useLayoutEffect(() => {
    const element = scroller.current;
    const first = messages[0]?.key;
    const last = messages.at(-1)?.key;
    // Earlier messages were put above: the reader keeps looking at what they were reading.
    const prepended = first !== firstKey.current && last === lastKey.current;
    // A new message (sent, or another conversation opened) brings the reader back to the end.
    if (last !== lastKey.current) following.current = true;
    firstKey.current = first;
    lastKey.current = last;
    if (element === null) return;
    if (prepended && !following.current) element.scrollTop += element.scrollHeight - height.current;
    else if (following.current) element.scrollTop = element.scrollHeight;
    height.current = element.scrollHeight;
  }, [messages]);

  return (
    <div
      ref={scroller}
      class="message-scroller"
      tabIndex={0}
      role="region"
      aria-label="Messages"
      onScroll={(event) => {
        const element = event.currentTarget;
        following.current =
          element.scrollHeight - element.scrollTop - element.clientHeight <= followSlack;
      }}
    >
      {loading ? (
        <p class="chat-placeholder" aria-busy="true">
          Loading the conversation…
        </p>
      ) : messages.length === 0 ? (
        <div class="chat-placeholder">
          <h1>Start a conversation</h1>
          <p class="muted">Type a message below: Enter sends it, Shift+Enter starts a new line.</p>
        </div>
      ) : (
        <>
          {hasOlder && (
            <p class="older-messages">
              <button
                type="button"
                class="button button--small button--quiet"
                disabled={loadingOlder}
                onClick={() => onLoadOlder?.()}
              >
                {loadingOlder ? 'Loading earlier messages…' : 'Show earlier messages'}
              </button>
            </p>
          )}
          <ol class="messages">
            {messages.map((message) =>
              message.role === 'user' ? (
                <UserMessage key={message.key} message={message} />
              ) : (
                <AssistantMessage key={message.key} message={message} />
              ),
            )}
          </ol>
        </>
      )}
    </div>
  );
}
