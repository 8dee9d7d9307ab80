import { useRef } from 'preact/hooks';
import {
  type ImageAttachment,
  acceptedImageTypes,
  formatFileSize,
  maxImageBytes,
} from '../image-attachments';
import { CloseIcon, ImageIcon } from './icons';

export interface ImageAttachmentsProps {
  images: ImageAttachment[];
  /** The selected model accepts images: the Attach control is shown. */
  canAttach: boolean;
  /** Why the last pick (or send) was refused. */
  error: string | undefined;
  /** Why Send is disabled because of the images (the model takes none); id `attach-blocked`. */
  blockedReason: string | undefined;
  onFiles: (files: File[]) => void;
  onRemove: (key: string) => void;
}

/** The id of the line saying why the attached images cannot be sent (Send points at it). */
export const attachBlockedId = 'attach-blocked';

/**
 * The composer's images: "Attach image" (a button opening the file picker, so it is reached
 * and used with the keyboard like any button), the attached images as removable thumbnails,
 * and what went wrong. Renders nothing for a text-only model with nothing attached.
 */
export function ImageAttachments(props: ImageAttachmentsProps) {
  const input = useRef<HTMLInputElement>(null);
  const attachButton = useRef<HTMLButtonElement>(null);
  if (!props.canAttach && props.images.length === 0) return null;

  function remove(key: string) {
    props.onRemove(key);
    // The removed button is gone: the focus goes somewhere that stays.
    (attachButton.current ?? document.getElementById('composer-input'))?.focus();
  }

  return (
    <div class="attachments" data-testid="attachments">
      <div class="attachments-row">
        {props.canAttach && (
          <>
            <button
              ref={attachButton}
              type="button"
              class="button button--small"
              data-testid="attach-image"
              aria-describedby="attach-hint"
              onClick={() => input.current?.click()}
            >
              <ImageIcon />
              Attach image
            </button>
            <span id="attach-hint" class="visually-hidden">
              PNG, JPEG, WebP or GIF, at most {formatFileSize(maxImageBytes)} each.
            </span>
            <input
              ref={input}
              type="file"
              hidden
              multiple
              accept={acceptedImageTypes.join(',')}
              data-testid="attach-input"
              onChange={(event) => {
                const files = [...(event.currentTarget.files ?? [])];
                // Cleared so that picking the same file again is a change too.
                event.currentTarget.value = '';
                if (files.length > 0) props.onFiles(files);
              }}
            />
          </>
        )}
        {props.images.length > 0 && (
          <ul class="attachment-list" aria-label="Attached images">
            {props.images.map((image) => (
              <li key={image.key} class="attachment" data-testid="attachment">
                <img class="attachment-image" src={image.dataUrl} alt={image.name} />
                <button
                  type="button"
                  class="attachment-remove"
                  aria-label={`Remove ${image.name}`}
                  title={`Remove ${image.name}`}
                  onClick={() => remove(image.key)}
                >
                  <CloseIcon />
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      {props.blockedReason !== undefined && (
        <p id={attachBlockedId} class="attachments-note" data-testid="attach-blocked">
          {props.blockedReason}
        </p>
      )}
      <div aria-live="assertive">
        {props.error !== undefined && (
          <p class="attachments-error" data-testid="attach-error">
            {props.error}
          </p>
        )}
      </div>
    </div>
  );
}
