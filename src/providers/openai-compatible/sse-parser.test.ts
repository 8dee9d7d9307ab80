import { describe, expect, it } from 'vitest';
import { SseEventTooLargeError, readSseData } from './sse-parser.js';

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

describe('SSE parser bounds', () => {
  const encoder = new TextEncoder();
  async function drain(chunks: Iterable<string>, limit: number): Promise<string[]> {
    async function* body() {
      for (const chunk of chunks) yield encoder.encode(chunk);
    }
    const out: string[] = [];
    for await (const data of readSseData(body(), limit)) out.push(data);
    return out;
  }

  it('refuses a line that never ends instead of buffering it without limit', async () => {
    function* endless() {
      yield 'data: ';
      for (let index = 0; index < 100; index++) yield 'x'.repeat(1000);
    }
    await expect(drain(endless(), 50_000)).rejects.toBeInstanceOf(SseEventTooLargeError);
  });

  it('refuses an event made of many data lines past the bound', async () => {
    const lines = Array.from({ length: 200 }, () => `data: ${'y'.repeat(500)}\n`);
    await expect(drain(lines, 50_000)).rejects.toBeInstanceOf(SseEventTooLargeError);
  });

  it('accepts events up to the bound, and any number of them', async () => {
    const event = `data: ${'z'.repeat(40_000)}\n\n`;
    const out = await drain(
      Array.from({ length: 50 }, () => event),
      50_000,
    );
    expect(out).toHaveLength(50);
    expect(out[0]).toHaveLength(40_000);
  });

  it('scans a long line in small chunks once, not once per chunk', async () => {
    // 4 MiB in chunks of 64 characters: rescanning or flattening the line per chunk is
    // quadratic and took two minutes here, far past the test timeout; linear takes well under 1 s.
    function* chunks() {
      yield 'data: ';
      for (let index = 0; index < 65_536; index++) yield 'a'.repeat(64);
      yield '\n\n';
    }
    const out = await drain(chunks(), 8 * 1024 * 1024);
    expect(out[0]).toHaveLength(4 * 1024 * 1024);
  });
});
