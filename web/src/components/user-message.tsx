import type { ChatMessageView } from '../messages';

/**
 * What the user wrote, as plain text: never Markdown, never HTML. Its images show as thumbnails
 * (data: URLs only, which the console's CSP allows), others as a labelled placeholder.
 */
export function UserMessage({ message }: { message: ChatMessageView }) {
  return (
    <li class="message message--user" data-testid="user-message">
      <span class="message-role">You</span>
      {message.images !== undefined && (
        <ul class="message-images" aria-label="Images">
          {message.images.map((image, index) => (
            <li key={index}>
              {image.src === undefined ? (
                <span class="message-image-placeholder" data-testid="message-image-placeholder">
                  {image.label}
                </span>
              ) : (
                <img
                  class="message-image"
                  data-testid="message-image"
                  src={image.src}
                  alt={image.label}
                  title={image.label}
                  loading="lazy"
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {message.content !== '' && <p class="user-text">{message.content}</p>}
    </li>
  );
}
