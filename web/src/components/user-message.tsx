import type { ChatMessageView } from '../messages';

/** What the user wrote, as plain text: never Markdown, never HTML. */
export function UserMessage({ message }: { message: ChatMessageView }) {
  return (
    <li class="message message--user" data-testid="user-message">
      <span class="message-role">You</span>
      <p class="user-text">{message.content}</p>
    </li>
  );
}
