import type { StoredMessage } from './api/types';
import { isShownImageUrl } from './image-attachments';

/** How an answer stands: still arriving, finished, stopped or cut short, or failed. */
export type MessageState = 'streaming' | 'done' | 'stopped' | 'error';

/** A message as the page shows it. */
export interface ChatMessageView {
  /** Stable across re-renders while streaming (the server's id once stored). */
  key: string;
  role: 'user' | 'assistant';
  /** The text parts, joined. */
  content: string;
  /** The message's images, in order (user messages). */
  images?: ImageView[] | undefined;
  state: MessageState;
  /** Shown under an answer: why it stopped, or what failed. */
  note?: string | undefined;
}

/**
 * An image of a message: a thumbnail of its data URL, or (`src` undefined) a labelled
 * placeholder for an image the page does not load: a link sent through the API would be fetched
 * from another site, which the console's CSP refuses (and which would tell that site who reads).
 */
export interface ImageView {
  src: string | undefined;
  /** The thumbnail's alt text, or the placeholder's text. */
  label: string;
}

/** Stored messages to views; system prompts are not part of the transcript. */
export function viewsOf(messages: readonly StoredMessage[]): ChatMessageView[] {
  const views: ChatMessageView[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const { text, images } = contentView(message.content);
    views.push({
      key: message.id,
      role: message.role,
      content: text,
      images,
      state: message.incomplete ? 'stopped' : 'done',
      note: message.incomplete ? 'This answer was cut short.' : undefined,
    });
  }
  return views;
}

/**
 * A message body as the page shows it: the text parts joined, and the images. `names` label the
 * images just sent (their file names); stored ones have no names and are numbered.
 */
export function contentView(
  content: StoredMessage['content'],
  names: readonly string[] = [],
): { text: string; images: ImageView[] | undefined } {
  if (typeof content === 'string') return { text: content, images: undefined };
  const texts: string[] = [];
  const images: ImageView[] = [];
  for (const part of content) {
    if (part.type === 'text') {
      texts.push(part.text);
      continue;
    }
    const url = part.image_url.url;
    const name = names[images.length] ?? `Image ${images.length + 1}`;
    images.push(
      isShownImageUrl(url)
        ? { src: url, label: name }
        : { src: undefined, label: unshown(name, url) },
    );
  }
  return { text: texts.join('\n'), images: images.length === 0 ? undefined : images };
}

/** The placeholder's text for an image the page does not load. */
function unshown(name: string, url: string): string {
  if (url.slice(0, 5).toLowerCase() === 'data:') {
    return `${name} (not shown: not a PNG, JPEG, WebP or GIF image)`;
  }
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    host = 'another site';
  }
  return `${name} (a link to ${host}, not loaded)`;
}

/** The note under an answer for each finish reason the server reports. */
export function finishNote(finishReason: string): string | undefined {
  if (finishReason === 'length') return 'The answer reached its length limit.';
  if (finishReason === 'content_filter') return 'The model’s content filter stopped the answer.';
  return undefined;
}
