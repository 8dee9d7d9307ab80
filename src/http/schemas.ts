import * as z from '../util/zod.js';
import type { ContentPart } from '../providers/types.js';

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
      ),
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
