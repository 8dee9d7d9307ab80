import { useEffect, useRef } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { attachBlockedId } from './image-attachments';

export interface ComposerProps {
  draft: string;
  onDraftChange: (value: string) => void;
  generating: boolean;
  onSend: () => void;
  onStop: () => void;
  /** Changes whenever the composer should take the focus (new chat, opened conversation). */
  focusSignal: number;
  /** Images are attached: the message can be sent without text. */
  hasImages: boolean;
  /** Why Send is disabled although there is something to send (images the model takes not). */
  sendBlocked: string | undefined;
  /** The image controls, above the message box (ImageAttachments). */
  attachments?: ComponentChildren;
  /** The model and temperature controls. */
  children: ComponentChildren;
}

/** The message box: Enter sends, Shift+Enter is a new line; Stop aborts the running answer. */
export function Composer(props: ComposerProps) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const canSend =
    !props.generating &&
    (props.draft.trim() !== '' || props.hasImages) &&
    props.sendBlocked === undefined;

  useEffect(() => textarea.current?.focus(), [props.focusSignal]);

  return (
    <form
      class="composer"
      aria-label="Send a message"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (canSend) props.onSend();
      }}
    >
      {props.attachments}
      <label class="visually-hidden" for="composer-input">
        Message
      </label>
      <textarea
        ref={textarea}
        id="composer-input"
        class="composer-input"
        data-testid="composer"
        rows={3}
        placeholder="Message (Enter sends, Shift+Enter for a new line)"
        value={props.draft}
        onInput={(event) => props.onDraftChange(event.currentTarget.value)}
        onKeyDown={(event) => {
          // isComposing: Enter that confirms an IME candidate (Chinese, Japanese…) is not a send.
          if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
          event.preventDefault();
          if (canSend) props.onSend();
        }}
      />
      <div class="composer-bar">
        {props.children}
        <span class="composer-buttons">
          <button
            type="button"
            class="button"
            data-testid="stop"
            disabled={!props.generating}
            onClick={props.onStop}
          >
            Stop
          </button>
          <button
            type="submit"
            class="button button--primary"
            data-testid="send"
            disabled={!canSend}
            aria-describedby={props.sendBlocked === undefined ? undefined : attachBlockedId}
          >
            Send
          </button>
        </span>
      </div>
    </form>
  );
}
