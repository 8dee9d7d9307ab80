import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultScript } from '../providers/tiny-model/tiny-model.js';
import { runCliCaptured } from '../../test/support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-cli-models-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function cli(...args: string[]) {
  return runCliCaptured(['models', ...args], { cwd: folder });
}

describe('assistd models make-tiny', () => {
  it('writes a scripted q8_0 model by default, relative to the working folder', async () => {
    const result = await cli('make-tiny', 'demo.gguf');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(
      new RegExp(
        `^wrote ${join(folder, 'demo.gguf')}: scripted llama model, q8_0, 64 dims × 2 layers, [\\d.]+K parameters, [\\d.]+ KiB in \\d+ ms\\n$`,
      ),
    );
    expect(readFileSync(join(folder, 'demo.gguf')).subarray(0, 4).toString()).toBe('GGUF');
  });

  it('takes the type, mode, seed and shape, and reports JSON', async () => {
    const result = await cli(
      'make-tiny',
      'random.gguf',
      '--mode',
      'random',
      '--type',
      'f16',
      '--seed',
      '9',
      '--dim',
      '96',
      '--layers',
      '3',
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      path: join(folder, 'random.gguf'),
      type: 'f16',
      mode: 'random',
      embeddingLength: 96,
      blockCount: 3,
      scriptPieces: 0,
    });
  });

  it('takes a script', async () => {
    const result = await cli(
      'make-tiny',
      'hello.gguf',
      '--script',
      'Hello there, friend.',
      '--json',
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ scriptPieces: 3 });
  });

  it('makes the folders the model goes into', async () => {
    const result = await cli('make-tiny', join('models', 'tiny', 'model.gguf'));
    expect(result.code).toBe(0);
    expect(
      readFileSync(join(folder, 'models', 'tiny', 'model.gguf'))
        .subarray(0, 4)
        .toString(),
    ).toBe('GGUF');
  });

  it('refuses bad flags with a message and exit code 2', async () => {
    writeFileSync(join(folder, 'a-file'), '');
    const cases: [string[], RegExp][] = [
      [
        ['make-tiny', 'x.gguf', '--type', 'q4_0'],
        /argument 'q4_0' is invalid. Allowed choices are f32, f16, q8_0/,
      ],
      [
        ['make-tiny', 'x.gguf', '--seed', '-1'],
        /--seed <n>' argument '-1' is invalid. expected an integer ≥ 0/,
      ],
      [['make-tiny', 'x.gguf', '--dim', '6.5'], /argument '6.5' is invalid/],
      [
        ['make-tiny', 'x.gguf', '--mode', 'random', '--script', 'hey there'],
        /--script needs --mode scripted/,
      ],
      [['make-tiny', 'x.gguf', '--script', 'hi'], /at least 3 characters/],
      [['make-tiny', 'x.gguf', '--dim', '8'], /embeddingLength 8 is too small/],
      [['make-tiny', 'a-file/x.gguf'], /cannot write .*x\.gguf \((EEXIST|ENOTDIR)\)/],
      [['make-tiny'], /missing required argument 'out'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });
});

describe('assistd models inspect', () => {
  it('describes a model for people', async () => {
    await cli('make-tiny', 'inspect-me.gguf', '--type', 'f32');
    const result = await cli('inspect', 'inspect-me.gguf', '--context-size', '1024');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(join(folder, 'inspect-me.gguf'));
    expect(lines.slice(1).map((line) => line.trim().split(/\s{2,}/))).toEqual([
      ['architecture', 'llama (assistd tiny scripted), GGUF v3'],
      ['parameters', expect.stringMatching(/^[\d.]+K$/)],
      ['tensor types', 'F32 × 21'],
      ['file size', expect.stringMatching(/ KiB$/)],
      ['context length', '4096 tokens'],
      ['vocabulary', expect.stringMatching(/^\d+ tokens$/)],
      ['chat template', 'yes'],
      [
        'memory (est.)',
        expect.stringMatching(
          /^[\d.]+ MiB = [\d.]+ KiB weights \+ 16 sequences × 1024 tokens × 512 bytes\/token KV cache \(F16\)$/,
        ),
      ],
    ]);
  });

  it('prints JSON with --json and labels Q8_0 as INT8', async () => {
    await cli('make-tiny', 'q8.gguf');
    const result = await cli('inspect', join(folder, 'q8.gguf'), '--json', '--max-batch-size', '4');
    const report = JSON.parse(result.stdout);
    expect(report.tensorTypes[0]).toMatchObject({ type: 'Q8_0', label: 'Q8_0 (INT8)' });
    expect(report.memory).toMatchObject({
      maxBatchSize: 4,
      contextSize: 4096,
      kvBytesPerToken: 512,
    });
  });

  it('exits 2 naming the file and the problem', async () => {
    writeFileSync(join(folder, 'text.gguf'), 'hello, not a model');
    const bad = await cli('inspect', 'text.gguf');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `assistd: model file ${join(folder, 'text.gguf')} is not a GGUF file (it starts with 0x68656c6c, not "GGUF")\n`,
    );
    const missing = await cli('inspect', 'nowhere');
    expect(missing).toMatchObject({
      code: 2,
      stderr: `assistd: model path ${join(folder, 'nowhere')} does not exist\n`,
    });
    const flag = await cli('inspect', 'q8.gguf', '--max-batch-size', '0');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /--max-batch-size <n>' argument '0' is invalid. expected an integer ≥ 1/,
    );
  });
});

describe('assistd models --help', () => {
  it('documents every command', async () => {
    for (const args of [
      ['--help'],
      ['inspect', '--help'],
      ['make-tiny', '--help'],
      ['pull', '--help'],
    ]) {
      const result = await cli(...args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: assistd models/);
    }
    expect((await cli('make-tiny', '--help')).stdout).toContain('--script <text>');
    const pull = (await cli('pull', '--help')).stdout;
    expect(pull).toContain('--sha256 <hex>');
    expect(pull).toMatch(/--to <dir> +folder to save it in, relative to the working/);
    expect(pull).toContain('(default: "models")');
    expect(pull).toContain('Run the same command\nagain to resume an interrupted download');
    expect(defaultScript).toContain('--model-path');
  });
});

describe('assistd models pull', () => {
  let model: Buffer;
  let digest: string;
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  beforeAll(async () => {
    await cli('make-tiny', 'pull-source.gguf');
    model = readFileSync(join(folder, 'pull-source.gguf'));
    digest = createHash('sha256').update(model).digest('hex');
  });

  /**
   * Serves the model on 127.0.0.1 with Range support; `stallAt` bytes into the first answer it
   * stops sending and calls `onStall`.
   */
  async function serveModel(options: { stallAt?: number; onStall?: () => void } = {}) {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      if (request.url !== '/files/tiny.gguf') return response.writeHead(404).end();
      const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
      const headers = { etag: '"1"', 'content-length': model.length - start };
      if (start > 0) {
        const range = `bytes ${start}-${model.length - 1}/${model.length}`;
        response.writeHead(206, { ...headers, 'content-range': range });
      } else {
        response.writeHead(200, headers);
      }
      if (seen.length === 1 && options.stallAt !== undefined) {
        response.write(model.subarray(0, options.stallAt), options.onStall);
      } else {
        response.end(model.subarray(start));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/files/tiny.gguf`, seen };
  }

  it('downloads into ./models, checking --sha256', async () => {
    const { url } = await serveModel();
    const result = await cli('pull', url, '--sha256', digest);
    expect(result.code).toBe(0);
    const path = join(folder, 'models', 'tiny.gguf');
    expect(result.stdout).toMatch(
      new RegExp(
        `^saved ${path}: llama model, [\\d.]+K parameters, 157\\.3 KiB\\nsha256 ${digest} matches --sha256\\n$`,
      ),
    );
    // Not a terminal: a first line and a last one, no bar.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`downloading ${url} to ${path}`);
    expect(lines.at(-1)).toMatch(/^100% {2}157\.3 KiB \/ 157\.3 KiB( {2}[\d.]+ [KM]iB\/s)?$/);
    expect(result.stderr).not.toContain('\r');
    expect(readFileSync(path).equals(model)).toBe(true);
  });

  it('prints the hash to pin it without --sha256, and JSON with --json', async () => {
    const { url, seen } = await serveModel();
    const plain = await cli('pull', url, '--to', 'plain');
    expect(plain.stdout).toContain(
      `\nsha256 ${digest} (not checked; pin it with --sha256 ${digest})\n`,
    );
    expect(seen[0]?.authorization).toBeUndefined();
    writeFileSync(join(folder, 'token.txt'), 'hf_secret\n');
    const json = await cli(
      ...[
        'pull',
        url,
        '--to',
        'json',
        '--name',
        'other.gguf',
        '--token-file',
        'token.txt',
        '--json',
      ],
    );
    expect(seen[1]?.authorization).toBe('Bearer hf_secret');
    expect(JSON.parse(json.stdout)).toMatchObject({
      path: join(folder, 'json', 'other.gguf'),
      bytes: model.length,
      sha256: digest,
      verified: false,
      resumedBytes: 0,
      architecture: 'llama',
    });
  });

  it('exits 2 on a wrong --sha256 and leaves nothing behind', async () => {
    const { url } = await serveModel();
    const wrong = '0'.repeat(64);
    const result = await cli('pull', url, '--to', 'wrong', '--sha256', wrong);
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining(
        `assistd: ${url} has SHA-256 ${digest}, not the expected ${wrong}; the download was deleted\n`,
      ),
    });
    expect(readdirSync(join(folder, 'wrong'))).toEqual([]);
  });

  it('names the URL and the problem: exit 2 for a 404, 1 for a refused connection', async () => {
    const { url } = await serveModel();
    const missing = url.replace('tiny.gguf', 'missing.gguf');
    const notFound = await cli('pull', missing, '--to', 'errors');
    expect(notFound).toMatchObject({
      code: 2,
      stderr: `assistd: cannot download ${missing}: HTTP 404 Not Found\n`,
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await cli('pull', `http://127.0.0.1:${port}/m.gguf`, '--to', 'errors');
    expect(refused).toMatchObject({
      code: 1,
      stderr: `assistd: cannot download http://127.0.0.1:${port}/m.gguf: connection refused\n`,
    });
  });

  it('refuses to replace a file without --force', async () => {
    const { url, seen } = await serveModel();
    expect((await cli('pull', url, '--to', 'twice')).code).toBe(0);
    const again = await cli('pull', url, '--to', 'twice');
    expect(again).toMatchObject({
      code: 2,
      stderr: `assistd: ${join(folder, 'twice', 'tiny.gguf')} already exists; pass --force to replace it\n`,
    });
    expect(seen).toHaveLength(1);
    expect((await cli('pull', url, '--to', 'twice', '--force')).code).toBe(0);
  });

  it('keeps the .part on Ctrl-C and resumes from it', async () => {
    const part = join(folder, 'interrupted', 'tiny.gguf.part');
    const stallAt = 65_536;
    // node-llama-cpp's signal-exit may listen too; it kills only when it is the only listener.
    const others = process.listenerCount('SIGINT');
    const { url, seen } = await serveModel({
      stallAt,
      onStall: () => {
        const timer = setInterval(() => {
          if (!existsSync(part) || statSync(part).size < stallAt) return;
          clearInterval(timer);
          // Emitted, not sent: only the listeners run, and the pull command's must be one of them.
          if (process.listenerCount('SIGINT') === others + 1) process.emit('SIGINT');
        }, 5);
      },
    });
    const stopped = await cli('pull', url, '--to', 'interrupted');
    expect(stopped).toMatchObject({
      code: 130,
      stdout: '',
      stderr: expect.stringContaining(
        `assistd: download of ${url} interrupted; 64.0 KiB kept in ${part}; run the same command again to resume\n`,
      ),
    });
    expect(process.listenerCount('SIGINT')).toBe(others);
    const resumed = await cli('pull', url, '--to', 'interrupted', '--sha256', digest);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(', resumed after 64.0 KiB\n');
    expect(seen[1]).toMatchObject({ range: `bytes=${stallAt}-`, 'if-range': '"1"' });
    expect(readFileSync(join(folder, 'interrupted', 'tiny.gguf')).equals(model)).toBe(true);
    expect(existsSync(part)).toBe(false);
  });

  it('refuses bad flags and URLs with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['pull', 'http://x/m.gguf', '--sha256', 'abc'],
        /--sha256 <hex>' argument 'abc' is invalid. expected 64 hex digits/,
      ],
      [['pull', 'http://x/m.gguf', '--idle-timeout', '0'], /expected an integer ≥ 1/],
      [
        ['pull', 'file:///etc/m.gguf'],
        /^assistd: only http and https URLs can be downloaded, not file:\n$/,
      ],
      [
        ['pull', 'http://x/m.bin'],
        /does not end in a \.gguf file name; give one with --name FILE\.gguf/,
      ],
      [
        ['pull', 'http://x/m.gguf', '--name', '../up.gguf'],
        /the file name must be a plain name ending in \.gguf/,
      ],
      [
        ['pull', 'http://169.254.169.254/m.gguf'],
        /cloud metadata address \(allow it with --allow-host\)/,
      ],
      [
        ['pull', 'http://x/m.gguf', '--token-file', 'no-such-token'],
        /cannot read --token-file .*no-such-token \(ENOENT\)/,
      ],
      [['pull'], /missing required argument 'url'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });
});
