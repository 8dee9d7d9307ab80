import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { lines: Record<string, unknown>[]; sink: Writable } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { lines, sink };
}

describe('createLogger', () => {
  it('redacts tokens and keys at the top level, in headers and one level down', () => {
    const { lines, sink } = capture();
    const logger = createLogger('info', sink);
    logger.info(
      {
        authorization: 'Bearer top',
        headers: { authorization: 'Bearer nested' },
        req: { headers: { authorization: 'Bearer req', cookie: 'session=abc' } },
        upstream: { api_key: 'sk-1', apiKey: 'sk-2', token: 't-3', host: 'example.com' },
      },
      'call',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['top', 'nested', 'Bearer req', 'session=abc', 'sk-1', 'sk-2', 't-3']) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      msg: 'call',
      authorization: '[redacted]',
      upstream: { host: 'example.com', token: '[redacted]' },
    });
  });

  it('keeps redacting in children made with bindings only', () => {
    const { lines, sink } = capture();
    createLogger('info', sink).child({ reqId: 'r1' }).info({ token: 'secret-1' }, 'x');
    expect(lines[0]).toMatchObject({ reqId: 'r1', token: '[redacted]' });
  });
});
