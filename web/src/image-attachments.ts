import type { ContentPart } from './api/types';

/** An image picked for the next message. */
export interface ImageAttachment {
  /** Stable while it is attached (list key); not sent. */
  key: string;
  /** The file's name: the thumbnail's alt text. */
  name: string;
  /** `data:image/…;base64,…`: what is sent, and what the thumbnail shows. */
  dataUrl: string;
}

/** The file picker's choice; other types are refused when picked anyway (drag, "All files"). */
export const acceptedImageTypes: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
];

/**
 * Largest image file accepted, in bytes (700 KB). Base64 makes it a third larger: about 933 KB
 * as sent, which fits the server's default 1 MiB body (`limits.body_bytes`) with room for text.
 */
export const maxImageBytes = 700 * 1024;

/**
 * Largest message as sent, in bytes: the text and every image as base64, in their JSON. The
 * remaining 64 KiB of the default 1 MiB body limit hold the rest of the request (model,
 * conversation id, JSON framing), so an accepted message is never a 413. Images together can
 * therefore be about 700 KB of files.
 */
export const maxMessageBytes = 960 * 1024;

/** Sizes as the limits are written: `812 B`, `700 KB`, `1.2 MB` (powers of 1024). */
export function formatFileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The refusal for a file that is not an image the console takes. */
export function notAnImage(name: string): string {
  return `${name} is not a PNG, JPEG, WebP or GIF image.`;
}

/** Why a picked file cannot be attached (type, size), or undefined when it can. */
export function imageFileProblem(file: {
  name: string;
  type: string;
  size: number;
}): string | undefined {
  if (!acceptedImageTypes.includes(file.type)) return notAnImage(file.name);
  if (file.size > maxImageBytes) {
    return (
      `${file.name} is ${formatFileSize(file.size)}: images can be at most ` +
      `${formatFileSize(maxImageBytes)} each, so that the message fits the server’s 1 MB limit.`
    );
  }
  return undefined;
}

/** How many leading bytes `sniffImageType` needs (WebP's signature is the longest). */
export const imageSignatureBytes = 12;

function startsWith(bytes: Uint8Array, prefix: string | readonly number[]): boolean {
  const expected =
    typeof prefix === 'string' ? [...prefix].map((character) => character.charCodeAt(0)) : prefix;
  return bytes.length >= expected.length && expected.every((byte, index) => bytes[index] === byte);
}

/**
 * The image type a file's leading bytes say it is (PNG, JPEG, GIF or WebP), or undefined. The
 * browser's `File.type` comes from the name alone: a text file renamed `.png` claims image/png.
 */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'image/gif';
  // `RIFF`, the 4-byte chunk size, `WEBP`.
  if (startsWith(bytes, 'RIFF') && startsWith(bytes.subarray(8), 'WEBP')) return 'image/webp';
  return undefined;
}

/**
 * FileReader's data URL, typed by what the bytes are: the server refuses a data URL whose bytes
 * are not its declared type, and the declared one came from the file's name.
 */
export function withImageType(dataUrl: string, type: string): string {
  return `data:${type};base64,${dataUrl.slice(dataUrl.indexOf(',') + 1)}`;
}

/**
 * The message's content as sent: the text alone when nothing is attached (as before), else a
 * text part (when there is text) followed by one `image_url` part per image.
 */
export function contentParts(
  text: string,
  images: readonly Pick<ImageAttachment, 'dataUrl'>[],
): string | ContentPart[] {
  if (images.length === 0) return text;
  const parts: ContentPart[] = text === '' ? [] : [{ type: 'text', text }];
  for (const image of images) parts.push({ type: 'image_url', image_url: { url: image.dataUrl } });
  return parts;
}

/** Bytes the content takes in the request body (JSON, UTF-8). */
export function contentBytes(content: string | ContentPart[]): number {
  return new TextEncoder().encode(JSON.stringify(content)).length;
}

/** Why the text and images are too large to send together, or undefined when they fit. */
export function messageSizeProblem(
  text: string,
  images: readonly Pick<ImageAttachment, 'dataUrl'>[],
): string | undefined {
  if (images.length === 0) return undefined;
  const bytes = contentBytes(contentParts(text, images));
  if (bytes <= maxMessageBytes) return undefined;
  return (
    `The message is ${formatFileSize(bytes)} with its images, more than the ` +
    `${formatFileSize(maxMessageBytes)} the server takes (images grow by a third when sent). ` +
    'Remove an image or attach smaller ones.'
  );
}

/** Whether a data URL is one the page shows as an image: base64 PNG, JPEG, WebP or GIF. */
export function isShownImageUrl(url: string): boolean {
  const lower = url.slice(0, 32).toLowerCase();
  return acceptedImageTypes.some((type) => lower.startsWith(`data:${type};base64,`));
}
