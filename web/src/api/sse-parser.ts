/** One server-sent event: its `event:` name (default `message`) and its joined `data:` lines. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * An incremental parser for `text/event-stream` (the WHATWG rules the console needs: `event`,
 * multi-line `data`, comments, LF / CRLF / CR line ends). Chunks may split anywhere, including
 * between the CR and LF of one line end.
 */
export class SseParser {
  private buffer = '';
  private eventName = '';
  private dataLines: string[] = [];

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let lineStart = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const char = this.buffer[index];
      if (char !== '\n' && char !== '\r') continue;
      // A CR at the end of the chunk may be the first half of CRLF: decide when more text arrives.
      if (char === '\r' && index === this.buffer.length - 1) break;
      const line = this.buffer.slice(lineStart, index);
      if (char === '\r' && this.buffer[index + 1] === '\n') index++;
      lineStart = index + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(lineStart);
    return events;
  }

  /** The end of the stream: a pending CR ends its line; an event without its blank line is dropped. */
  end(): ServerSentEvent[] {
    const events = this.buffer.endsWith('\r') ? this.push('\n') : [];
    this.buffer = '';
    this.eventName = '';
    this.dataLines = [];
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.dataLines.push(value);
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const event =
      this.dataLines.length === 0
        ? undefined
        : {
            event: this.eventName === '' ? 'message' : this.eventName,
            data: this.dataLines.join('\n'),
          };
    this.eventName = '';
    this.dataLines = [];
    return event;
  }
}
