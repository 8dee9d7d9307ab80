import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  statSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../tiny-model/tiny-model.js';
import { downloadModel, ModelDownloadError, type DownloadModelOptions } from './model-download.js';

const root = mkdtempSync(join(tmpdir(), 'assistd-model-download-'));
let model: Buffer;
let otherModel: Buffer;
let folderCount = 0;

beforeAll(async () => {
  await writeTinyModel(join(root, 'source.gguf'));
  await writeTinyModel(join(root, 'other.gguf'), { mode: 'random', seed: 2 });
  model = readFileSync(join(root, 'source.gguf'));
  otherModel = readFileSync(join(root, 'other.gguf'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A fresh, empty target folder for one test. */
function newFolder(): string {
  folderCount += 1;
  const folder = join(root, `target-${folderCount}`);
  mkdirSync(folder);
  return folder;
}

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  status: number;
  bytesSent: number;
}

type Handler = (request: IncomingMessage, response: ServerResponse, seen: Seen) => void;

/** A real HTTP server on 127.0.0.1 that records every request it answers. */
async function serve(handler: Handler) {
  const requests: Seen[] = [];
  const server = createServer((request, response) => {
    const seen: Seen = {
      url: request.url ?? '',
      headers: request.headers,
      status: 0,
      bytesSent: 0,
    };
    requests.push(seen);
    handler(request, response, seen);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin: `http://127.0.0.1:${port}`, requests };
}

interface FileBehaviour {
  body: Buffer;
  etag?: string;
  /** Answer 200 with the whole file, whatever the Range header says. */
  ignoreRange?: boolean;
  /** Destroy the socket after this many body bytes, once the client has written them here. */
  cutAfter?: number;
  partFile?: string;
  /** Send this many body bytes, then stall; `onStall` is told. */
  stallAfter?: number;
  onStall?: () => void;
}

/** Serves a file the way a CDN does: Range and If-Range (strong ETag) honoured. */
function fileHandler(behaviour: () => FileBehaviour): Handler {
  return (request, response, seen) => {
    const { body, etag, ignoreRange, cutAfter, partFile, stallAfter, onStall } = behaviour();
    const tag = etag === undefined ? {} : { etag };
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const ifRange = request.headers['if-range'];
    let start = 0;
    if (range !== null && ignoreRange !== true && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= body.length) {
        seen.status = 416;
        response.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      seen.status = 206;
      response.writeHead(206, {
        ...tag,
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      seen.status = 200;
      response.writeHead(200, { ...tag, 'content-length': body.length });
    }
    const rest = body.subarray(start);
    const limit = cutAfter ?? stallAfter;
    if (limit === undefined) {
      seen.bytesSent = rest.length;
      response.end(rest);
      return;
    }
    seen.bytesSent = limit;
    response.write(rest.subarray(0, limit), () => {
      if (cutAfter === undefined) onStall?.();
      // A body stream drops what it buffered when it errors, so wait until the bytes are on disk.
      else whenSize(partFile, start + cutAfter, () => response.socket?.destroy());
    });
  };
}

/** Calls `then` once `file` holds `size` bytes (at once when there is no file to watch). */
function whenSize(file: string | undefined, size: number, then: () => void): void {
  const timer = setInterval(() => {
    if (file === undefined || (existsSync(file) && statSync(file).size >= size)) {
      clearInterval(timer);
      then();
    }
  }, 5);
}

async function download(options: Partial<DownloadModelOptions> & { url: string }) {
  const directory = options.directory ?? newFolder();
  return downloadModel({ directory, ...options });
}

async function failure(promise: Promise<unknown>): Promise<ModelDownloadError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ModelDownloadError);
  return error as ModelDownloadError;
}

function sink(isTTY: boolean) {
  const output = { text: '' };
  return { output, progress: { isTTY, write: (text: string) => (output.text += text) } };
}

describe('downloadModel', () => {
  it('downloads, checks the SHA-256 and the model, and renames into place', async () => {
    const server = await serve(fileHandler(() => ({ body: model, etag: '"v1"' })));
    const directory = newFolder();
    const result = await download({
      url: `${server.origin}/models/tiny.gguf?download=true`,
      directory,
      sha256: sha256(model).toUpperCase(),
    });
    expect(result).toMatchObject({
      path: join(directory, 'tiny.gguf'),
      bytes: model.length,
      sha256: sha256(model),
      verified: true,
      resumedBytes: 0,
      transferredBytes: model.length,
    });
    expect(result.model.architecture).toBe('llama');
    expect(readFileSync(result.path).equals(model)).toBe(true);
    expect(readdirSync(directory)).toEqual(['tiny.gguf']);
    expect(server.requests[0]?.headers).toMatchObject({ 'accept-encoding': 'identity' });
    expect(server.requests[0]?.headers.range).toBeUndefined();
  });

  it('deletes the download on a SHA-256 mismatch', async () => {
    const server = await serve(fileHandler(() => ({ body: model, etag: '"v1"' })));
    const directory = newFolder();
    const error = await failure(
      download({ url: `${server.origin}/tiny.gguf`, directory, sha256: 'ab'.repeat(32) }),
    );
    expect(error.failure).toBe('integrity');
    expect(error.message).toBe(
      `${server.origin}/tiny.gguf has SHA-256 ${sha256(model)}, not the expected ${'ab'.repeat(32)}; the download was deleted`,
    );
    expect(readdirSync(directory)).toEqual([]);
  });

  it('resumes an interrupted download with Range and If-Range', async () => {
    const half = Math.floor(model.length / 2);
    let cut: number | undefined = half;
    const directory = newFolder();
    const partFile = join(directory, 'tiny.gguf.part');
    const server = await serve(
      fileHandler(() => ({ body: model, etag: '"v1"', cutAfter: cut, partFile })),
    );
    const url = `${server.origin}/tiny.gguf`;

    const first = await failure(download({ url, directory }));
    expect(first.failure).toBe('network');
    expect(first.message).toBe(
      `cannot download ${url}: the server closed the connection; ${(half / 1024).toFixed(1)} KiB kept in ${join(directory, 'tiny.gguf.part')}; run the same command again to resume`,
    );
    expect(readFileSync(join(directory, 'tiny.gguf.part')).equals(model.subarray(0, half))).toBe(
      true,
    );
    expect(JSON.parse(readFileSync(join(directory, 'tiny.gguf.part.json'), 'utf8'))).toEqual({
      url,
      etag: '"v1"',
      totalBytes: model.length,
    });
    expect(existsSync(join(directory, 'tiny.gguf'))).toBe(false);

    cut = undefined;
    const { output, progress } = sink(false);
    const second = await download({ url, directory, sha256: sha256(model), progress });
    expect(server.requests[1]?.headers).toMatchObject({
      range: `bytes=${half}-`,
      'if-range': '"v1"',
    });
    expect(server.requests[1]).toMatchObject({ status: 206, bytesSent: model.length - half });
    expect(second).toMatchObject({ resumedBytes: half, transferredBytes: model.length - half });
    expect(readFileSync(second.path).equals(model)).toBe(true);
    expect(readdirSync(directory)).toEqual(['tiny.gguf']);
    expect(output.text).toContain(`resuming ${url} at`);
  });

  it('starts over when the server ignores the Range header', async () => {
    const directory = newFolder();
    const partFile = join(directory, 'tiny.gguf.part');
    let behaviour: FileBehaviour = { body: model, etag: '"v1"', cutAfter: 1000, partFile };
    const server = await serve(fileHandler(() => behaviour));
    const url = `${server.origin}/tiny.gguf`;
    await failure(download({ url, directory }));

    behaviour = { body: model, etag: '"v1"', ignoreRange: true };
    const { output, progress } = sink(false);
    const result = await download({ url, directory, progress });
    expect(server.requests[1]?.headers.range).toBe('bytes=1000-');
    expect(server.requests[1]?.status).toBe(200);
    expect(result).toMatchObject({ resumedBytes: 0, transferredBytes: model.length });
    expect(readFileSync(result.path).equals(model)).toBe(true);
    expect(output.text).toContain('the server sent the whole file; starting over');
  });

  it('starts over when the file changed (If-Range fails)', async () => {
    const directory = newFolder();
    const partFile = join(directory, 'tiny.gguf.part');
    let behaviour: FileBehaviour = { body: model, etag: '"v1"', cutAfter: 5000, partFile };
    const server = await serve(fileHandler(() => behaviour));
    const url = `${server.origin}/tiny.gguf`;
    await failure(download({ url, directory }));

    behaviour = { body: otherModel, etag: '"v2"' };
    const result = await download({ url, directory, sha256: sha256(otherModel) });
    expect(server.requests[1]?.headers).toMatchObject({ range: 'bytes=5000-', 'if-range': '"v1"' });
    expect(server.requests[1]?.status).toBe(200);
    expect(readFileSync(result.path).equals(otherModel)).toBe(true);
    expect(readdirSync(directory)).toEqual(['tiny.gguf']);
  });

  it('checks a part the server says is complete (416)', async () => {
    const server = await serve(fileHandler(() => ({ body: model, etag: '"v1"' })));
    const directory = newFolder();
    const url = `${server.origin}/tiny.gguf`;
    // A run that received every byte but stopped before the rename.
    writeFileSync(join(directory, 'tiny.gguf.part'), model);
    writeFileSync(
      join(directory, 'tiny.gguf.part.json'),
      JSON.stringify({ url, etag: '"v1"', totalBytes: model.length }),
    );
    const result = await download({ url, directory, sha256: sha256(model) });
    expect(server.requests[0]?.headers.range).toBe(`bytes=${model.length}-`);
    expect(server.requests[0]?.status).toBe(416);
    expect(result).toMatchObject({ resumedBytes: model.length, transferredBytes: 0 });
    expect(readFileSync(result.path).equals(model)).toBe(true);
  });

  it('ignores a part whose sidecar names another URL', async () => {
    const server = await serve(fileHandler(() => ({ body: model, etag: '"v1"' })));
    const directory = newFolder();
    writeFileSync(join(directory, 'tiny.gguf.part'), model.subarray(0, 100));
    writeFileSync(join(directory, 'tiny.gguf.part.json'), JSON.stringify({ url: 'http://x/y' }));
    const result = await download({ url: `${server.origin}/tiny.gguf`, directory });
    expect(server.requests[0]?.headers.range).toBeUndefined();
    expect(readFileSync(result.path).equals(model)).toBe(true);
  });

  it('reports HTTP errors and refused connections in one line', async () => {
    const server = await serve((_request, response) => response.writeHead(404).end('nope'));
    const directory = newFolder();
    const missing = await failure(download({ url: `${server.origin}/missing.gguf`, directory }));
    expect(missing).toMatchObject({ failure: 'http', status: 404 });
    expect(missing.message).toBe(
      `cannot download ${server.origin}/missing.gguf: HTTP 404 Not Found`,
    );
    expect(existsSync(join(directory, 'missing.gguf.part'))).toBe(false);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await failure(download({ url: `http://127.0.0.1:${port}/m.gguf` }));
    expect(refused).toMatchObject({
      failure: 'network',
      message: `cannot download http://127.0.0.1:${port}/m.gguf: connection refused`,
    });
  });

  it('gives up when the server stalls, keeping the part', async () => {
    const server = await serve(fileHandler(() => ({ body: model, stallAfter: 4096 })));
    const directory = newFolder();
    const error = await failure(
      download({ url: `${server.origin}/slow.gguf`, directory, idleTimeoutMs: 300 }),
    );
    expect(error.message).toMatch(
      new RegExp(
        `^cannot download ${server.origin}/slow.gguf: no data for 0.3 s; 4.00 KiB kept in `,
      ),
    );
  });

  it('leaves the part for resuming when aborted', async () => {
    const controller = new AbortController();
    const directory = newFolder();
    const part = join(directory, 'tiny.gguf.part');
    const abortWhenWritten = () => whenSize(part, 8192, () => controller.abort());
    const server = await serve(
      fileHandler(() => ({ body: model, stallAfter: 8192, onStall: abortWhenWritten })),
    );
    const error = await failure(
      download({ url: `${server.origin}/tiny.gguf`, directory, signal: controller.signal }),
    );
    expect(error).toMatchObject({
      failure: 'aborted',
      message: `download of ${server.origin}/tiny.gguf interrupted; 8.00 KiB kept in ${join(directory, 'tiny.gguf.part')}; run the same command again to resume`,
    });
    expect(readFileSync(join(directory, 'tiny.gguf.part')).length).toBe(8192);
  });

  it('refuses a body that is not a GGUF model, keeping nothing', async () => {
    const page = Buffer.from('<!DOCTYPE html><html>sign in</html>');
    const html = await serve(fileHandler(() => ({ body: page })));
    const directory = newFolder();
    const notGguf = await failure(download({ url: `${html.origin}/m.gguf`, directory }));
    expect(notGguf).toMatchObject({
      failure: 'not-a-model',
      message: `${html.origin}/m.gguf is not a GGUF file (it starts with 0x3c21444f, not "GGUF")`,
    });
    expect(readdirSync(directory)).toEqual([]);

    const truncated = await serve(fileHandler(() => ({ body: model.subarray(0, 20_000) })));
    const broken = await failure(download({ url: `${truncated.origin}/m.gguf`, directory }));
    expect(broken.failure).toBe('not-a-model');
    expect(broken.message).toMatch(
      new RegExp(`^${truncated.origin}/m.gguf is not a usable model: it `),
    );
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses to replace an existing file unless forced', async () => {
    const server = await serve(fileHandler(() => ({ body: model })));
    const directory = newFolder();
    const url = `${server.origin}/tiny.gguf`;
    await download({ url, directory, name: 'kept.gguf' });
    const error = await failure(download({ url, directory, name: 'kept.gguf' }));
    expect(error).toMatchObject({
      failure: 'exists',
      message: `${join(directory, 'kept.gguf')} already exists; pass --force to replace it`,
    });
    expect(server.requests).toHaveLength(1);
    await download({ url, directory, name: 'kept.gguf', force: true });
    expect(server.requests).toHaveLength(2);
  });

  it('names the file from the URL, safely, or from --name', async () => {
    const server = await serve(fileHandler(() => ({ body: model })));
    const directory = newFolder();
    const sneaky = await download({
      url: `${server.origin}/a/..%2F..%2Fevil%20model.gguf`,
      directory,
    });
    expect(sneaky.path).toBe(join(directory, '_.._evil model.gguf'));
    const badUrls: [string, RegExp][] = [
      ['ftp://example.com/m.gguf', /only http and https URLs can be downloaded, not ftp:/],
      ['not a url', /"not a url" is not a URL/],
      [`${server.origin}/model.bin`, /does not end in a \.gguf file name; give one with --name/],
      [`${server.origin}/.gguf`, /does not end in a \.gguf file name/],
    ];
    for (const [url, message] of badUrls) {
      const error = await failure(download({ url, directory }));
      expect([url, error.failure, error.message]).toEqual([
        url,
        'usage',
        expect.stringMatching(message),
      ]);
    }
    for (const name of ['../x.gguf', '.hidden.gguf', 'x.bin']) {
      const error = await failure(download({ url: `${server.origin}/m.gguf`, directory, name }));
      expect(error.message).toBe(
        `the file name must be a plain name ending in .gguf, not "${name}"`,
      );
    }
    expect(server.requests).toHaveLength(1);
  });

  it('refuses cloud metadata addresses unless allow-listed', async () => {
    const error = await failure(download({ url: 'http://169.254.169.254/latest/m.gguf' }));
    expect(error.failure).toBe('usage');
    expect(error.message).toMatch(
      /^cannot download http:\/\/169\.254\.169\.254\/latest\/m\.gguf: refusing to connect to 169\.254\.169\.254 .*metadata address \(allow it with --allow-host\)$/,
    );
  });

  it('follows redirects, sending credentials to the first origin only', async () => {
    const target = await serve(fileHandler(() => ({ body: model })));
    const start = await serve((request, response) => {
      const to = request.url === '/m.gguf' ? '/hop.gguf' : `${target.origin}/final.gguf`;
      response.writeHead(302, { location: to }).end();
    });
    const url = `http://user:p%40ss@${start.origin.slice('http://'.length)}/m.gguf`;
    const result = await download({ url });
    expect(readFileSync(result.path).equals(model)).toBe(true);
    expect(result.path.endsWith('m.gguf')).toBe(true);
    const basic = `Basic ${Buffer.from('user:p@ss').toString('base64')}`;
    expect(start.requests.map((seen) => seen.headers.authorization)).toEqual([basic, basic]);
    expect(target.requests[0]?.headers.authorization).toBeUndefined();

    const loop = await serve((_request, response) =>
      response.writeHead(301, { location: '/again.gguf' }).end(),
    );
    const error = await failure(download({ url: `${loop.origin}/m.gguf` }));
    expect(error.message).toBe(`cannot download ${loop.origin}/m.gguf: more than 5 redirects`);
    expect(loop.requests).toHaveLength(6);
  });

  it('draws a bar in place on a terminal, at most every 100 ms', async () => {
    const server = await serve(fileHandler(() => ({ body: model })));
    const url = `${server.origin}/tiny.gguf`;

    // A clock that never moves: the first chunk draws, then only the final redraw.
    const terminal = sink(true);
    const directory = newFolder();
    await download({ url, directory, progress: terminal.progress, now: () => 0 });
    const draws = terminal.output.text.split('\r\x1b[K');
    expect(draws[0]).toBe(`downloading ${url} to ${join(directory, 'tiny.gguf')}\n`);
    expect(draws).toHaveLength(3);
    expect(draws[2]).toMatch(/^\[#{24}\] 100% {2}157\.3 KiB \/ 157\.3 KiB\n$/);

    // A clock that moves 1 s a call: every chunk redraws, with a rate.
    const moving = sink(true);
    let time = 0;
    await download({ url, progress: moving.progress, now: () => (time += 1000) });
    expect(moving.output.text.split('\r').length).toBeGreaterThan(2);
    expect(moving.output.text).toMatch(/ 100% {2}157\.3 KiB \/ 157\.3 KiB {2}[\d.]+ KiB\/s\n$/);

    const plain = sink(false);
    await download({ url, progress: plain.progress, now: () => (time += 1000) });
    expect(plain.output.text).not.toContain('\r');
    const lines = plain.output.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^downloading /);
    expect(lines.at(-1)).toMatch(/^100% {2}157\.3 KiB \/ 157\.3 KiB {2}[\d.]+ KiB\/s$/);
  });
});
