import { Agent, type Dispatcher } from '../../net/undici.js';
import { assertHostAllowed, guardedLookup } from '../../net/outbound-guard.js';
import { errorCode, ModelDownloadError } from './model-download-errors.js';
import type { Source } from './model-download-source.js';

/** How a download connects: the outbound guard's exceptions, timeouts, and an agent for tests. */
export interface ConnectionOptions {
  /** Hosts allowed even though they are (or resolve to) cloud metadata addresses. */
  allowHosts?: readonly string[] | undefined;
  /** Milliseconds to open a connection. Default 15 000. */
  connectTimeoutMs?: number | undefined;
  /** Milliseconds to wait for the response headers, and between two chunks of the body. Default 60 000. */
  idleTimeoutMs?: number | undefined;
  /** Replaces the connection agent (tests); the caller owns it and its DNS guard. */
  dispatcher?: Dispatcher | undefined;
}

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** Follows redirects itself, so every hop is checked against the outbound guard. */
export class Connection {
  private readonly dispatcher: Dispatcher;
  private readonly owned: boolean;
  private readonly allowHosts: readonly string[];
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;

  constructor(
    options: ConnectionOptions,
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

/** A response header's value; the first when the server repeated it. */
export function headerValue(
  headers: Dispatcher.ResponseData['headers'],
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Content-Length` when it is a whole number of bytes, else undefined. */
export function contentLength(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const value = Number(headerValue(headers, 'content-length') ?? Number.NaN);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `bytes 100-199/200`, or `bytes` then `*` then `/200` for a 416. */
export function parseContentRange(
  value: string | undefined,
): { start?: number; total?: number } | undefined {
  const match =
    value === undefined ? null : /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value.trim());
  if (match === null) return undefined;
  const start = match[1] === undefined ? undefined : Number(match[1]);
  const total = match[2] === undefined || match[2] === '*' ? undefined : Number(match[2]);
  return { start, total };
}

/** Drains a body not wanted (up to 64 KiB) so the connection can be reused; errors are moot. */
export async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}
