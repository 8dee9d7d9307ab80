import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { join, resolve } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { assertHostAllowed, guardedLookup } from '../../net/outbound-guard.js';
import { ggufMagic } from './gguf-format.js';
import { inspectModelFile, ModelFileError, type ModelFileReport } from './model-file.js';

/** Where progress goes: a terminal gets a bar redrawn in place, anything else a few plain lines. */
export interface ProgressSink {
  write: (text: string) => void;
  isTTY: boolean;
}

export interface DownloadModelOptions {
  /** An http(s) URL. `user:password@` in it becomes Basic auth, sent to that origin only. */
  url: string;
  /** The folder the file lands in; created when missing. */
  directory: string;
  /** The file name, ending in `.gguf`. Default: the URL's last path segment, decoded and sanitized. */
  name?: string | undefined;
  /** Expected SHA-256 of the whole file, hex. A mismatch deletes the download. */
  sha256?: string | undefined;
  /** Replace an existing file of the same name. Default false. */
  force?: boolean | undefined;
  /** An `Authorization` header value (e.g. `Bearer …`), sent to the URL's origin only. */
  authorization?: string | undefined;
  /** Hosts allowed even though they are (or resolve to) cloud metadata addresses. */
  allowHosts?: readonly string[] | undefined;
  /** Milliseconds to open a connection. Default 15 000. */
  connectTimeoutMs?: number | undefined;
  /** Milliseconds to wait for the response headers, and between two chunks of the body. Default 60 000. */
  idleTimeoutMs?: number | undefined;
  progress?: ProgressSink | undefined;
  /** Aborting leaves the `.part` file for the next run to resume. */
  signal?: AbortSignal | undefined;
  /** Replaces the connection agent (tests); the caller owns it and its DNS guard. */
  dispatcher?: Dispatcher | undefined;
  /** Milliseconds, for the progress rate and redraw pacing. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  /** True when `sha256` was given (and matched, or the call would have thrown). */
  verified: boolean;
  /** Bytes a `.part` file from an earlier run contributed; 0 for a fresh download. */
  resumedBytes: number;
  /** Bytes this run received. */
  transferredBytes: number;
  model: ModelFileReport;
}

/**
 * What went wrong: `usage` (bad URL, name or option; blocked host), `exists` (final file there),
 * `http` (an error status, in `status`), `network` (refused, reset, timed out), `disk`,
 * `integrity` (SHA-256 mismatch), `not-a-model`, `aborted`.
 */
export type DownloadFailure =
  'usage' | 'exists' | 'http' | 'network' | 'disk' | 'integrity' | 'not-a-model' | 'aborted';

/** A failed download; the message is one line naming the URL or file and the problem. */
export class ModelDownloadError extends Error {
  constructor(
    readonly failure: DownloadFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** A terminal bar is redrawn at most this often; plain lines come at most this often. */
const redrawMs = 100;
const lineMs = 10_000;

/**
 * Downloads a GGUF model into `directory` through `<name>.part`, resuming a `.part` left by an
 * earlier run (Range + If-Range with the validator saved in `<name>.part.json`), checks the
 * SHA-256 and that the file is a model llama.cpp can load, then renames it into place durably.
 */
export async function downloadModel(options: DownloadModelOptions): Promise<DownloadResult> {
  const source = parseSource(options.url, options.authorization);
  const name = options.name === undefined ? nameFromUrl(source) : checkName(options.name);
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new ModelDownloadError('usage', 'the SHA-256 must be 64 hex digits');
  }
  const directory = resolve(options.directory);
  const final = join(directory, name);
  const paths = { final, part: `${final}.part`, sidecar: `${final}.part.json` };
  if (options.force !== true) await refuseExisting(final);
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw diskError(error, directory);
  });

  const progress = new Progress(options.progress, options.now ?? Date.now);
  const connection = new Connection(options, source);
  let fetched: Fetched;
  try {
    fetched = await fetchPart(connection, paths, progress, options.signal);
  } catch (error) {
    progress.close();
    // A body that is not a model is no use to resume.
    if (error instanceof ModelDownloadError && error.failure === 'not-a-model')
      await removePart(paths);
    throw await explain(error, source, paths.part, options.signal);
  } finally {
    await connection.close();
  }

  const sha256 = fetched.hash.digest('hex');
  if (expected !== undefined && sha256 !== expected) {
    await removePart(paths);
    throw new ModelDownloadError(
      'integrity',
      `${source.label} has SHA-256 ${sha256}, not the expected ${expected}; the download was deleted`,
    );
  }
  const model = await checkModel(paths, source.label);
  if (options.force !== true) await refuseExisting(final);
  try {
    await rename(paths.part, final);
    await syncDirectory(directory);
  } catch (error) {
    throw diskError(error, final);
  }
  await rm(paths.sidecar, { force: true });
  return {
    path: final,
    bytes: fetched.bytes,
    sha256,
    verified: expected !== undefined,
    resumedBytes: fetched.resumedBytes,
    transferredBytes: fetched.bytes - fetched.resumedBytes,
    model,
  };
}

interface Source {
  /** Without credentials or fragment. */
  url: URL;
  /** For messages: no credentials, and no query string (it may hold a signature). */
  label: string;
  authorization: string | undefined;
}

function parseSource(text: string, authorization: string | undefined): Source {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ModelDownloadError('usage', `${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelDownloadError(
      'usage',
      `only http and https URLs can be downloaded, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    const user = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
    authorization ??= `Basic ${Buffer.from(user).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  const label = `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
  return { url, label, authorization };
}

/** The URL's last path segment, decoded, with separators and control characters replaced. */
function nameFromUrl(source: Source): string {
  const segment = safeDecode(source.url.pathname.split('/').pop() ?? '');
  const name = [...segment]
    .map((char) => (char === '/' || char === '\\' || char.charCodeAt(0) < 32 ? '_' : char))
    .join('')
    .replace(/^\.+/, '');
  if (!isModelName(name)) {
    throw new ModelDownloadError(
      'usage',
      `${source.label} does not end in a .gguf file name; give one with --name FILE.gguf`,
    );
  }
  return name;
}

function checkName(name: string): string {
  const plain = [...name].every(
    (char) => char !== '/' && char !== '\\' && char.charCodeAt(0) >= 32,
  );
  if (!plain || name.startsWith('.') || !isModelName(name)) {
    throw new ModelDownloadError(
      'usage',
      `the file name must be a plain name ending in .gguf, not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function isModelName(name: string): boolean {
  // Room for the ".part.json" suffix within the usual 255-byte limit.
  return /.\.gguf$/i.test(name) && Buffer.byteLength(name) <= 240;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Follows redirects itself, so every hop is checked against the outbound guard. */
class Connection {
  private readonly dispatcher: Dispatcher;
  private readonly owned: boolean;
  private readonly allowHosts: readonly string[];
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;

  constructor(
    options: DownloadModelOptions,
    readonly source: Source,
  ) {
    this.allowHosts = (options.allowHosts ?? []).map((host) => host.toLowerCase());
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.owned = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: this.connectTimeoutMs, lookup: guardedLookup(this.allowHosts) },
        headersTimeout: this.idleTimeoutMs,
        bodyTimeout: this.idleTimeoutMs,
      });
  }

  /** A GET that follows up to 5 redirects; credentials go to the first origin only. */
  async get(
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const { source } = this;
    let url = source.url;
    for (let hops = 0; ; hops += 1) {
      try {
        assertHostAllowed(url.hostname, this.allowHosts);
      } catch (error) {
        throw this.failure(error);
      }
      const sendCredentials =
        url.origin === source.url.origin && source.authorization !== undefined;
      let response: Dispatcher.ResponseData;
      try {
        response = await this.dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: sendCredentials ? { ...headers, authorization: source.authorization } : headers,
          signal,
          headersTimeout: this.idleTimeoutMs,
          bodyTimeout: this.idleTimeoutMs,
        });
      } catch (error) {
        throw this.failure(error);
      }
      const location = headerValue(response.headers, 'location');
      if (!redirectStatuses.has(response.statusCode) || location === undefined) return response;
      await discard(response.body);
      if (hops === maxRedirects) {
        throw new ModelDownloadError(
          'http',
          `cannot download ${source.label}: more than ${maxRedirects} redirects`,
        );
      }
      const next = URL.parse(location, url.href);
      if (next === null || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
        throw new ModelDownloadError(
          'http',
          `cannot download ${source.label}: it redirects to an unusable location`,
        );
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw new ModelDownloadError(
          'http',
          `cannot download ${source.label}: refusing a redirect from https to http`,
        );
      }
      url = next;
    }
  }

  /** Turns a transport error into a one-line ModelDownloadError. */
  failure(error: unknown): ModelDownloadError {
    if (error instanceof ModelDownloadError) return error;
    const code = errorCode(error);
    const seconds = (ms: number) => `${ms / 1000} s`;
    const reasons: Readonly<Record<string, string>> = {
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'host name lookup failed',
      UND_ERR_SOCKET: 'the server closed the connection',
      UND_ERR_CONNECT_TIMEOUT: `no connection within ${seconds(this.connectTimeoutMs)}`,
      UND_ERR_HEADERS_TIMEOUT: `no answer within ${seconds(this.idleTimeoutMs)}`,
      UND_ERR_BODY_TIMEOUT: `no data for ${seconds(this.idleTimeoutMs)}`,
    };
    const label = this.source.label;
    if (code === 'ERR_BLOCKED_ADDRESS') {
      const message = (error as Error).message;
      return new ModelDownloadError(
        'usage',
        `cannot download ${label}: ${message} (allow it with --allow-host)`,
      );
    }
    const reason =
      (code === undefined ? undefined : reasons[code]) ?? code ?? (error as Error).message;
    return new ModelDownloadError('network', `cannot download ${label}: ${reason}`);
  }

  async close(): Promise<void> {
    if (this.owned) await this.dispatcher.destroy();
  }
}

/** What `<name>.part.json` holds: where the part came from and how to ask whether it changed. */
const sidecarSchema = z.object({
  url: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  totalBytes: z.number().int().nonnegative().optional(),
});
type Sidecar = z.infer<typeof sidecarSchema>;

interface Paths {
  final: string;
  part: string;
  sidecar: string;
}

interface Fetched {
  bytes: number;
  resumedBytes: number;
  hash: Hash;
}

/** A `.part` this code can resume: its sidecar names the same URL and its bytes hashed so far. */
interface Resumable {
  bytes: number;
  hash: Hash;
  sidecar: Sidecar;
}

async function fetchPart(
  connection: Connection,
  paths: Paths,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<Fetched> {
  const label = connection.source.label;
  let resumable = await readResumable(paths, connection.source);
  for (let attempt = 0; ; attempt += 1) {
    const headers: Record<string, string> = {
      'accept-encoding': 'identity',
      'user-agent': 'assistd',
    };
    if (resumable !== undefined) {
      headers.range = `bytes=${resumable.bytes}-`;
      // A weak ETag may not be used in If-Range (RFC 9110 §13.1.5).
      const { etag, lastModified } = resumable.sidecar;
      const validator = etag !== undefined && !etag.startsWith('W/') ? etag : lastModified;
      if (validator !== undefined) headers['if-range'] = validator;
    }
    const response = await connection.get(headers, signal);
    const range = parseContentRange(headerValue(response.headers, 'content-range'));
    if (response.statusCode === 416 && resumable !== undefined) {
      await discard(response.body);
      // Nothing left to send: the part is complete, unless the server's file is another size.
      if (range?.total === undefined || range.total === resumable.bytes) {
        progress.line(`${label} is already in ${paths.part}; checking it`);
        return { bytes: resumable.bytes, resumedBytes: resumable.bytes, hash: resumable.hash };
      }
    } else if (
      response.statusCode === 206 &&
      resumable !== undefined &&
      range?.start === resumable.bytes
    ) {
      const total = range.total ?? resumable.sidecar.totalBytes;
      progress.line(`resuming ${label} at ${formatBytes(resumable.bytes)}`);
      const state = { ...resumable, head: ggufMagic, resumedBytes: resumable.bytes };
      await receive(response, paths.part, true, state, total, progress, connection);
      return state;
    } else if (response.statusCode === 200 || (response.statusCode === 206 && range?.start === 0)) {
      if (resumable !== undefined) progress.line(`the server sent the whole file; starting over`);
      const total = response.statusCode === 206 ? range?.total : contentLength(response.headers);
      const sidecar: Sidecar = {
        url: connection.source.url.href,
        etag: headerValue(response.headers, 'etag'),
        lastModified: headerValue(response.headers, 'last-modified'),
        totalBytes: total,
      };
      progress.line(`downloading ${label} to ${paths.final}`);
      const state = {
        bytes: 0,
        resumedBytes: 0,
        hash: createHash('sha256'),
        head: Buffer.alloc(0),
      };
      await receive(response, paths.part, false, state, total, progress, connection, () =>
        writeFile(paths.sidecar, `${JSON.stringify(sidecar)}\n`),
      );
      return state;
    } else if (response.statusCode < 200 || response.statusCode >= 300 || attempt > 0) {
      await discard(response.body);
      const status = response.statusCode;
      const hint = status === 401 || status === 403 ? ' (it may need a token)' : '';
      const problem =
        status === 206
          ? 'the server sent a part that was not asked for'
          : `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
      throw new ModelDownloadError('http', `cannot download ${label}: ${problem}${hint}`, status);
    } else {
      await discard(response.body);
    }
    // The server's file does not fit the part (416 with another size, an unasked-for range).
    await removePart(paths);
    resumable = undefined;
  }
}

/**
 * Streams a response body into the part file, hashing as it goes. A fresh download truncates the
 * part before `started` writes the sidecar, so a part never sits beside another file's validator.
 */
async function receive(
  response: Dispatcher.ResponseData,
  part: string,
  append: boolean,
  state: Fetched & { head: Buffer },
  total: number | undefined,
  progress: Progress,
  connection: Connection,
  started?: () => Promise<void>,
): Promise<void> {
  let handle;
  try {
    handle = await open(part, append ? 'a' : 'w');
    await started?.();
  } catch (error) {
    await discard(response.body);
    await handle?.close();
    throw diskError(error, part);
  }
  progress.begin(state.bytes, total);
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (state.head.length < ggufMagic.length) {
        state.head = Buffer.concat([state.head, chunk]).subarray(0, ggufMagic.length);
        if (state.head.length === ggufMagic.length && !state.head.equals(ggufMagic)) {
          throw new ModelDownloadError(
            'not-a-model',
            `${connection.source.label} is not a GGUF file (it starts with 0x${state.head.toString('hex')}, not "GGUF")`,
          );
        }
      }
      for (let offset = 0; offset < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, offset).catch((error: unknown) => {
          throw diskError(error, part);
        });
        offset += bytesWritten;
      }
      state.hash.update(chunk);
      state.bytes += chunk.length;
      progress.update(state.bytes);
    }
    await handle.sync().catch((error: unknown) => {
      throw diskError(error, part);
    });
  } catch (error) {
    throw connection.failure(error);
  } finally {
    await handle.close();
  }
  progress.finish(state.bytes);
  if (total !== undefined && state.bytes !== total) {
    throw new ModelDownloadError(
      'network',
      `cannot download ${connection.source.label}: the connection ended after ${state.bytes} of ${total} bytes`,
    );
  }
}

/** The part left by an earlier run, when its sidecar is readable and names the same URL. */
async function readResumable(paths: Paths, source: Source): Promise<Resumable | undefined> {
  const bytes = await stat(paths.part).then(
    (info) => (info.isFile() ? info.size : 0),
    () => 0,
  );
  if (bytes === 0) return undefined;
  const sidecar = await readFile(paths.sidecar, 'utf8')
    .then((text) => sidecarSchema.parse(JSON.parse(text)))
    .catch(() => undefined);
  if (sidecar?.url !== source.url.href) return undefined;
  if (sidecar.totalBytes !== undefined && bytes > sidecar.totalBytes) return undefined;
  const hash = createHash('sha256');
  let head: Buffer | undefined;
  for await (const chunk of createReadStream(paths.part, {
    end: bytes - 1,
  }) as AsyncIterable<Buffer>) {
    head ??= chunk.subarray(0, ggufMagic.length);
    hash.update(chunk);
  }
  return head?.equals(ggufMagic) === true ? { bytes, hash, sidecar } : undefined;
}

/** The full model check; a part that fails it is useless, so it is deleted. */
async function checkModel(paths: Paths, label: string): Promise<ModelFileReport> {
  try {
    return await inspectModelFile(paths.part, { maxBatchSize: 1 });
  } catch (error) {
    await removePart(paths);
    if (!(error instanceof ModelFileError)) throw diskError(error, paths.part);
    const prefix = `model file ${paths.part} `;
    const problem = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    throw new ModelDownloadError('not-a-model', `${label} is not a usable model: it ${problem}`);
  }
}

/** Adds what became of the part file to a failure, so the user knows a rerun resumes. */
async function explain(
  error: unknown,
  source: Source,
  part: string,
  signal: AbortSignal | undefined,
): Promise<ModelDownloadError> {
  const kept = await stat(part).then(
    (info) => info.size,
    () => 0,
  );
  const resume = `${formatBytes(kept)} kept in ${part}; run the same command again to resume`;
  if (signal?.aborted === true) {
    const message = `download of ${source.label} interrupted`;
    return new ModelDownloadError('aborted', kept > 0 ? `${message}; ${resume}` : message);
  }
  const failure =
    error instanceof ModelDownloadError
      ? error
      : new ModelDownloadError(
          'disk',
          `cannot download ${source.label}: ${(error as Error).message}`,
        );
  if (kept === 0 || !['network', 'disk', 'http'].includes(failure.failure)) return failure;
  return new ModelDownloadError(failure.failure, `${failure.message}; ${resume}`, failure.status);
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new ModelDownloadError('exists', `${path} already exists; pass --force to replace it`);
  }
}

async function removePart(paths: Paths): Promise<void> {
  await rm(paths.part, { force: true });
  await rm(paths.sidecar, { force: true });
}

/** Makes the rename durable. Some systems cannot open a folder for syncing; that is not an error. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

function diskError(error: unknown, path: string): ModelDownloadError {
  if (error instanceof ModelDownloadError) return error;
  const code = errorCode(error) ?? (error as Error).message;
  return new ModelDownloadError('disk', `cannot write ${path} (${code})`);
}

function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; depth < 3; depth += 1) {
    const code = (current as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown } | undefined)?.cause;
  }
  return undefined;
}

function headerValue(
  headers: Dispatcher.ResponseData['headers'],
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentLength(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const value = Number(headerValue(headers, 'content-length') ?? Number.NaN);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `bytes 100-199/200`, or `bytes` then `*` then `/200` for a 416. */
function parseContentRange(
  value: string | undefined,
): { start?: number; total?: number } | undefined {
  const match =
    value === undefined ? null : /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value.trim());
  if (match === null) return undefined;
  const start = match[1] === undefined ? undefined : Number(match[1]);
  const total = match[2] === undefined || match[2] === '*' ? undefined : Number(match[2]);
  return { start, total };
}

async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

/** Renders progress: a bar redrawn in place on a terminal, a line every 10 s elsewhere. */
class Progress {
  private startedAt = 0;
  private startBytes = 0;
  private total: number | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private barShown = false;

  constructor(
    private readonly sink: ProgressSink | undefined,
    private readonly now: () => number,
  ) {}

  line(text: string): void {
    this.close();
    this.sink?.write(`${text}\n`);
  }

  begin(bytes: number, total: number | undefined): void {
    this.startedAt = this.now();
    this.startBytes = bytes;
    this.total = total;
    this.lastDraw = this.sink?.isTTY === true ? Number.NEGATIVE_INFINITY : this.startedAt;
  }

  update(bytes: number, last = false): void {
    if (this.sink === undefined) return;
    const time = this.now();
    if (!last && time - this.lastDraw < (this.sink.isTTY ? redrawMs : lineMs)) return;
    this.lastDraw = time;
    if (this.sink.isTTY) {
      this.sink.write(`\r\x1b[K${this.describe(bytes, time, true)}`);
      this.barShown = true;
    } else {
      this.sink.write(`${this.describe(bytes, time, false)}\n`);
    }
  }

  finish(bytes: number): void {
    this.update(bytes, true);
    this.close();
  }

  /** Ends a bar's line so the next message starts on its own. */
  close(): void {
    if (this.barShown) this.sink?.write('\n');
    this.barShown = false;
  }

  private describe(bytes: number, time: number, bar: boolean): string {
    const seconds = (time - this.startedAt) / 1000;
    const rate = seconds > 0 ? `  ${formatBytes((bytes - this.startBytes) / seconds)}/s` : '';
    if (this.total === undefined || this.total === 0) return `${formatBytes(bytes)}${rate}`;
    const fraction = Math.min(1, bytes / this.total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const filled = Math.round(fraction * 24);
    const drawn = bar ? `[${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ` : '';
    return `${drawn}${percent}  ${formatBytes(bytes)} / ${formatBytes(this.total)}${rate}`;
  }
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${Math.round(bytes)} bytes`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
