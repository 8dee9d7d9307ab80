/** Thrown when one event (or one line) grows past the parser's bound: a hostile or broken stream. */
export class SseEventTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`a stream event is longer than ${limit} characters`);
    this.name = 'SseEventTooLargeError';
  }
}

/** Longest event accepted, in characters (a chunk carries a few tokens; 4 Mi is generous). */
export const defaultMaxEventChars = 4 * 1024 * 1024;

/**
 * Reads the `data` of each server-sent event from a byte stream (the WHATWG event-stream format:
 * lines end in CRLF, LF or CR; `:` starts a comment; several `data:` lines join with "\n"; a blank
 * line dispatches the event). Event names and ids are not needed for OpenAI streams and are ignored.
 *
 * Bounded: an event (its data lines together, or one unfinished line) longer than `maxEventChars`
 * throws `SseEventTooLargeError` instead of growing without limit, and each character is scanned
 * once however the stream is chunked.
 */
export async function* readSseData(
  body: AsyncIterable<Uint8Array>,
  maxEventChars = defaultMaxEventChars,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  /** The unfinished line so far, in pieces: joined once its end arrives. */
  let partial: string[] = [];
  let partialChars = 0;
  let data: string[] = [];
  let dataChars = 0;
  let pendingCR = false;

  /** The lines `text` completes; what follows the last line end waits in `partial`. */
  function* takeLines(text: string): Generator<string> {
    let start = 0;
    for (let index = 0; index < text.length; index++) {
      const char = text.charCodeAt(index);
      if (pendingCR) {
        pendingCR = false;
        if (char === 10 && index === start) {
          start = index + 1;
          continue;
        }
      }
      if (char === 10 || char === 13) {
        const piece = text.slice(start, index);
        yield partial.length === 0 ? piece : [...partial, piece].join('');
        partial = [];
        partialChars = 0;
        start = index + 1;
        if (char === 13) pendingCR = true;
      }
    }
    if (start < text.length) {
      partial.push(text.slice(start));
      partialChars += text.length - start;
      if (dataChars + partialChars > maxEventChars) throw new SseEventTooLargeError(maxEventChars);
    }
  }

  function* handle(line: string): Generator<string> {
    if (line === '') {
      if (data.length > 0) yield data.join('\n');
      data = [];
      dataChars = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    dataChars += value.length + 1;
    if (dataChars > maxEventChars) throw new SseEventTooLargeError(maxEventChars);
    data.push(value);
  }

  for await (const chunk of body) {
    for (const line of takeLines(decoder.decode(chunk, { stream: true }))) yield* handle(line);
  }
  for (const line of takeLines(decoder.decode())) yield* handle(line);
  if (partial.length > 0) yield* handle(partial.join(''));
  if (data.length > 0) yield data.join('\n');
}
