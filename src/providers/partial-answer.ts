import { AppError } from '../errors.js';
import type { GenerateResult, StreamPart, ToolCall } from './types.js';

/**
 * The text a model produced before its call failed or was cut short (client gone, shutdown),
 * carried with the error a non-streamed call throws, so the turn can still be stored, marked
 * incomplete, as a streamed one is. Held beside the error, not on it: errors stay as they are.
 */
const partialAnswers = new WeakMap<object, string>();

/** `error`, remembered with the text produced before it (nothing when there was none). */
export function withPartialAnswer<T>(error: T, text: string): T {
  if (text !== '' && typeof error === 'object' && error !== null) partialAnswers.set(error, text);
  return error;
}

/** The text produced before `error`, or undefined. */
export function partialAnswerOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? partialAnswers.get(error) : undefined;
}

/**
 * A streamed answer gathered into one: its text and its calls (each call's first piece with its
 * id and name, later ones more of its arguments, as the local engine sends them), or its error
 * with the text before it.
 */
export async function gatherAnswer(parts: AsyncIterable<StreamPart>): Promise<GenerateResult> {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for await (const part of parts) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'tool-call-delta') {
      const call = toolCalls[part.index];
      if (call === undefined) {
        toolCalls[part.index] = {
          id: part.id!,
          type: 'function',
          function: { name: part.name!, arguments: part.arguments },
        };
      } else call.function.arguments += part.arguments;
    } else if (part.type === 'error') throw withPartialAnswer(part.error, text);
    else {
      return {
        text,
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
        finishReason: part.finishReason,
        usage: part.usage,
      };
    }
  }
  throw new AppError('internal_error');
}
