import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser';

describe('SseParser', () => {
  it('reads named events and joins multi-line data', () => {
    const parser = new SseParser();
    const events = parser.push('event: start\ndata: {"a":1}\n\ndata: one\ndata: two\n\n');
    expect(events).toEqual([
      { event: 'start', data: '{"a":1}' },
      { event: 'message', data: 'one\ntwo' },
    ]);
  });

  it('completes an event split across chunks anywhere, CRLF included', () => {
    const text =
      'event: delta\r\ndata: {"content":"你好"}\r\n\r\n: comment\r\nevent: done\rdata: {}\r\r';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      events.push(...parser.end());
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'delta', data: '{"content":"你好"}' },
        { event: 'done', data: '{}' },
      ]);
    }
  });

  it('ignores comments, unknown fields and events without data', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\nid: 7\nretry: 10\nevent: ping\n\ndata:x\n\n')).toEqual([
      { event: 'message', data: 'x' },
    ]);
  });

  it('drops an event the stream ended before its blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: delta\ndata: {"content":"cut"}\n')).toEqual([]);
    expect(parser.end()).toEqual([]);
  });
});
