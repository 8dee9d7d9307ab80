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
