import { AppError } from '../errors.js';
import type { ChatMessage, ChatModel, MessageContent } from './types.js';

/**
 * Refuses content the model cannot take (today: images for a text-only model). `messages` are
 * the request's own, so `param` points at the field the caller sent.
 */
export function assertContentAccepted(model: ChatModel, messages: readonly ChatMessage[]): void {
  if (model.capabilities.images) return;
  messages.forEach((message, index) => {
    if (typeof message.content === 'string') return;
    if (message.content.some((part) => part.type === 'image_url')) {
      throw new AppError('unsupported_content', `Model "${model.id}" does not accept images.`, {
        param: `messages[${index}].content`,
      });
    }
  });
}

/** The text of a message body: the string itself, or its text parts joined (images dropped). */
export function contentText(content: MessageContent): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
