import {
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, reopenLogFiles } from './logger.js';

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
    const logger = createLogger('info', { destination: sink });
    logger.info(
      {
        authorization: 'Bearer top',
        headers: { authorization: 'Bearer nested' },
        req: { headers: { authorization: 'Bearer req', cookie: 'session=abc' } },
        upstream: { api_key: 'sk-1', apiKey: 'sk-2', token: 't-3', host: 'example.com' },
        cookie: 'assistd_session=c-1',
        request: { headers: { cookie: 'assistd_session=c-2' } },
        res: { headers: { 'set-cookie': 'assistd_session=c-3' } },
      },
      'call',
    );
    const text = JSON.stringify(lines);
    for (const secret of [
      'top',
      'nested',
      'Bearer req',
      'session=abc',
      'sk-1',
      'sk-2',
      't-3',
      'c-1',
      'c-2',
      'c-3',
    ]) {
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
    createLogger('info', { destination: sink })
      .child({ reqId: 'r1' })
      .info({ token: 'secret-1' }, 'x');
    expect(lines[0]).toMatchObject({ reqId: 'r1', token: '[redacted]' });
  });
});

describe('log file', () => {
  it('appends to the file and, after a rotation, reopens it at the same path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'assistd-log-'));
    const path = join(dir, 'assistd.log');
    writeFileSync(path, '{"earlier":true}\n');
    const logger = createLogger('info', { file: path });
    logger.info('first');
    logger.flush();
    await waitFor(() => readFileSync(path, 'utf8').includes('"first"'));
    expect(readFileSync(path, 'utf8').startsWith('{"earlier":true}\n')).toBe(true);
    renameSync(path, `${path}.1`);
    reopenLogFiles();
    logger.info('second');
    logger.flush();
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes('"second"'));
    expect(readFileSync(`${path}.1`, 'utf8')).not.toContain('"second"');
    expect(readFileSync(path, 'utf8')).not.toContain('"first"');
  });

  it('creates a new file with mode 0640 and fails at once when the folder is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'assistd-log-'));
    const path = join(dir, 'new.log');
    createLogger('info', { file: path });
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(() => createLogger('info', { file: join(dir, 'missing', 'x.log') })).toThrow(/ENOENT/);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}
