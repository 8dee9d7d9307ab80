/**
 * Reads the `data` of each server-sent event from a byte stream (the WHATWG event-stream format:
 * lines end in CRLF, LF or CR; `:` starts a comment; several `data:` lines join with "\n"; a blank
 * line dispatches the event). Event names and ids are not needed for OpenAI streams and are ignored.
 */
export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let pendingCR = false;

  function* takeLines(final: boolean): Generator<string> {
    let start = 0;
    for (let index = 0; index < buffer.length; index++) {
      const char = buffer.charCodeAt(index);
      if (pendingCR) {
        pendingCR = false;
        if (char === 10 && index === start) {
          start = index + 1;
          continue;
        }
      }
      if (char === 10 || char === 13) {
        yield buffer.slice(start, index);
        start = index + 1;
        if (char === 13) pendingCR = true;
      }
    }
    buffer = buffer.slice(start);
    if (final && buffer !== '') {
      yield buffer;
      buffer = '';
    }
  }

  function* handle(line: string): Generator<string> {
    if (line === '') {
      if (data.length > 0) yield data.join('\n');
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    data.push(value);
  }

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (const line of takeLines(false)) yield* handle(line);
  }
  buffer += decoder.decode();
  for (const line of takeLines(true)) yield* handle(line);
  if (data.length > 0) yield data.join('\n');
}
