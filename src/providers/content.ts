import { AppError } from '../errors.js';
import type { ChatMessage, ChatModel, ChatRequest, MessageContent } from './types.js';

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

/**
 * Refuses function calling for a model without it (an endpoint configured with
 * `accepts_tools: false`) and JSON output for one without that (`accepts_response_format: false`),
 * naming the field.
 */
export function assertToolsAccepted(model: ChatModel, request: ChatRequest): void {
  if (request.responseFormat !== undefined && model.capabilities.jsonOutput !== true) {
    throw new AppError(
      'unsupported_parameter',
      `Model "${model.id}" does not support structured output.`,
      { param: 'response_format' },
    );
  }
  if (model.capabilities.tools === true) return;
  let param: string | undefined;
  if (request.tools !== undefined) param = 'tools';
  else {
    const index = request.messages.findIndex(
      (message) => message.toolCalls !== undefined || message.toolCallId !== undefined,
    );
    if (index >= 0) {
      const message = request.messages[index]!;
      param = `messages[${index}].${message.toolCalls === undefined ? 'tool_call_id' : 'tool_calls'}`;
    }
  }
  if (param === undefined) return;
  throw new AppError('unsupported_parameter', `Model "${model.id}" does not support tools.`, {
    param,
  });
}

/** The text of a message body: the string itself, or its text parts joined (images dropped). */
export function contentText(content: MessageContent): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
