import * as z from '../util/zod.js';
import type { ContentPart } from '../providers/types.js';

/**
 * How each image type the models take begins. A `data:` URL declaring one of them must hold it:
 * a text file renamed `.png` is not stored as an image. Other declared types are not checked.
 */
const imageSignatures: Record<string, { name: string; matches: (bytes: Uint8Array) => boolean }> = {
  'image/png': {
    name: 'PNG',
    matches: (bytes) => startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  'image/jpeg': { name: 'JPEG', matches: (bytes) => startsWith(bytes, [0xff, 0xd8, 0xff]) },
  'image/gif': {
    name: 'GIF',
    matches: (bytes) => startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a')),
  },
  // `RIFF`, the 4-byte chunk size, `WEBP`.
  'image/webp': {
    name: 'WebP',
    matches: (bytes) =>
      startsWith(bytes, ascii('RIFF')) && startsWith(bytes.subarray(8), ascii('WEBP')),
  },
};

/** The longest signature to check (WebP's 12 bytes), and the base64 characters that hold it. */
const signatureBytes = 12;
const signatureBase64Chars = 16;

function ascii(text: string): number[] {
  return [...text].map((character) => character.charCodeAt(0));
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte);
}

/** The first bytes of a data URL's payload: base64, or percent-encoded. */
function leadingBytes(payload: string, base64: boolean): Uint8Array {
  if (base64) return Buffer.from(payload.slice(0, signatureBase64Chars), 'base64');
  const bytes: number[] = [];
  for (let index = 0; index < payload.length && bytes.length < signatureBytes; index++) {
    const escaped =
      payload[index] === '%' ? /^[0-9a-f]{2}$/i.exec(payload.slice(index + 1, index + 3)) : null;
    if (escaped === null) {
      bytes.push(payload.charCodeAt(index) & 0xff);
    } else {
      bytes.push(Number.parseInt(escaped[0], 16));
      index += 2;
    }
  }
  return Uint8Array.from(bytes);
}

/** Why a `data:` URL's bytes are not the image type it declares; undefined when they are. */
function dataUrlProblem(url: string): string | undefined {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) return undefined;
  const [declared = '', ...parameters] = url.slice('data:'.length, comma).split(';');
  const mediaType = declared.trim().toLowerCase();
  const signature = imageSignatures[mediaType];
  if (signature === undefined) return undefined;
  const base64 = parameters.at(-1)?.trim().toLowerCase() === 'base64';
  // Only the start of the payload is read (a percent-encoded byte takes 3 characters).
  const payload = url.slice(comma + 1, comma + 1 + signatureBytes * 3);
  if (signature.matches(leadingBytes(payload, base64))) return undefined;
  return `declares ${mediaType}, but its data is not a ${signature.name} image`;
}

const textPartSchema = z.strictObject({ type: z.literal('text'), text: z.string() });
const imagePartSchema = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z
      .string()
      .min(1)
      .refine(
        (url) => /^(https?:|data:image\/)/i.test(url),
        'must be an http(s) URL or a data:image/… URL',
      )
      .superRefine((url, context) => {
        const problem = dataUrlProblem(url);
        if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
      }),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});

/** Marks an issue as "valid shape, but content this server does not take" (→ unsupported_content). */
export const unsupportedMarker = { unsupported: true } as const;

/** A message body: a string, or a non-empty array of text and image parts. */
export const contentSchema = z
  .union([z.string(), z.array(z.unknown()).min(1)], {
    error: 'must be a string or a non-empty array of content parts',
  })
  .transform((value, context): string | ContentPart[] => {
    if (typeof value === 'string') return value;
    const parts: ContentPart[] = [];
    value.forEach((item, index) => {
      const type =
        typeof item === 'object' && item !== null ? (item as { type?: unknown }).type : undefined;
      if (type !== 'text' && type !== 'image_url') {
        context.addIssue({
          code: 'custom',
          path: [index, 'type'],
          message:
            typeof type === 'string'
              ? `content part type "${type}" is not supported; use "text" or "image_url"`
              : 'each content part needs a "type"',
          params: typeof type === 'string' ? unsupportedMarker : undefined,
        });
        return;
      }
      const parsed = (type === 'text' ? textPartSchema : imagePartSchema).safeParse(item);
      if (parsed.success) {
        parts.push(parsed.data);
        return;
      }
      for (const issue of parsed.error.issues) {
        context.addIssue({ ...issue, path: [index, ...issue.path] });
      }
    });
    return parts;
  });

export const stopSchema = z.union([z.string(), z.array(z.string()).max(4)], {
  error: 'must be a string or an array of up to 4 strings',
});

export const temperatureSchema = z.number().min(0).max(2);
export const topPSchema = z.number().min(0).max(1);
export const maxTokensSchema = z.int().min(1).max(1_000_000);

/** The body of `POST /v1/chat`. */
export const chatBodySchema = z.strictObject({
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'user', 'assistant']),
        content: contentSchema,
      }),
    )
    .min(1, 'must hold at least one message'),
  temperature: temperatureSchema.optional(),
  conversation_id: z.string().min(1).max(128).optional(),
  stream: z.boolean().optional(),
  max_tokens: maxTokensSchema.optional(),
  model: z.string().min(1).max(256).optional(),
  top_p: topPSchema.optional(),
  stop: stopSchema.optional(),
  seed: z.int().optional(),
});

export type ChatBody = z.output<typeof chatBodySchema>;

/** Normalises `stop` to a list. */
export function stopList(
  stop: string | readonly string[] | null | undefined,
): string[] | undefined {
  if (stop === null || stop === undefined) return undefined;
  return typeof stop === 'string' ? [stop] : [...stop];
}
