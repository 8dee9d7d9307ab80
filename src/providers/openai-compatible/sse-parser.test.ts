import { describe, expect, it } from 'vitest';
import { readSseData } from './sse-parser.js';

async function parse(chunks: string[]): Promise<string[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const chunk of chunks) yield encoder.encode(chunk);
  }
  const out: string[] = [];
  for await (const data of readSseData(body())) out.push(data);
  return out;
}

describe('SSE parser', () => {
  it('reads events split anywhere across chunks', async () => {
    expect(await parse(['da', 'ta: {"a"', ':1}\n', '\ndata: [DONE]\n\n'])).toEqual([
      '{"a":1}',
      '[DONE]',
    ]);
  });

  it('accepts CRLF, CR and LF line ends, including CRLF split between chunks', async () => {
    expect(await parse(['data: one\r', '\n\r\ndata: two\r\rdata: three\n\n'])).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('skips comments and other fields, and joins multi-line data', async () => {
    expect(await parse([': ping\n\nevent: x\nid: 4\ndata: a\ndata: b\nretry: 10\n\n'])).toEqual([
      'a\nb',
    ]);
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = new TextEncoder().encode('data: 你好\n\n');
    async function* body() {
      yield bytes.slice(0, 8);
      yield bytes.slice(8);
    }
    const out: string[] = [];
    for await (const data of readSseData(body())) out.push(data);
    expect(out).toEqual(['你好']);
  });

  it('keeps an unterminated last event', async () => {
    expect(await parse(['data: tail'])).toEqual(['tail']);
  });
});
