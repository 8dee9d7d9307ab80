import { Agent, type Dispatcher } from '../../net/undici.js';
import { assertPublicHost, publicOnlyLookup } from '../../net/private-address.js';
import { parseRetryAfter } from '../../util/retry-after.js';
import type { SendResult } from '../types.js';
import { redact, redactUrl } from './redact.js';

/** The most of a receiver's answer read (bytes); robots answer a few dozen bytes of JSON. */
export const maxAnswerBytes = 64 * 1024;

/**
 * The connection pool of a robot or webhook channel: every DNS answer is checked at connect time
 * (private and metadata addresses refused unless the name is allow-listed). 10 s to connect; the
 * whole send is bounded by the caller's AbortSignal.
 */
export function webhookAgent(allowHosts: readonly string[]): Agent {
  return new Agent({
    connect: { lookup: publicOnlyLookup(allowHosts), timeout: 10_000 },
    keepAliveTimeout: 10_000,
  });
}

/**
 * `text` as an http(s) URL. Throws a message naming `field` and never the text, which may hold a
 * token (a URL from `url_file`).
 */
export function parseHttpUrl(text: string, field: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || !/^https?:$/.test(url.protocol)) {
    throw new Error(`${field}: must be an http(s) URL`);
  }
  return url;
}

export interface HttpTargetOptions {
  /** Hosts allowed although private or metadata addresses (lower-case). */
  allowHosts: readonly string[];
  /** Replaces the connection pool (tests); the URL is still checked before each send. */
  dispatcher?: Dispatcher | undefined;
  /** Values that must never appear in a `SendResult` (keys, tokens, signing secrets). */
  secrets: readonly string[];
  /** Milliseconds since the epoch, for `Retry-After` dates. */
  clock?: (() => number) | undefined;
}

/** A receiver's 2xx answer: the status and the body's first 64 KiB, parsed when it is JSON. */
export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** One request: what to send, and how to judge a 2xx answer (robots say 200 with an error code). */
export interface Delivery {
  url: URL;
  method?: 'POST' | 'PUT';
  body: string;
  headers?: Record<string, string>;
  signal: AbortSignal;
  accept: (answer: Answer) => SendResult;
}

/**
 * Sends JSON to a robot or webhook and turns the outcome into a `SendResult`. The URL's host is
 * checked (private and metadata addresses refused unless allow-listed) when the channel is built
 * and before each send, and the DNS answer again at connect time; redirects are not followed (a
 * 3xx is a failure). Network errors and timeouts, 408, 429 and 5xx are worth retrying; other
 * answers are not. Secrets are removed from every `detail`.
 */
export class HttpTarget {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: HttpTargetOptions) {
    this.dispatcher = options.dispatcher ?? webhookAgent(options.allowHosts);
  }

  /** Throws a `BlockedAddressError` (host only, never the URL) for a host that is not allowed. */
  check(url: URL): void {
    assertPublicHost(url.hostname, this.options.allowHosts);
  }

  async send(delivery: Delivery): Promise<SendResult> {
    const { url, body, signal } = delivery;
    const hide = (text: string) => redact(text, this.options.secrets);
    try {
      this.check(url);
      const response = await this.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: delivery.method ?? 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...delivery.headers },
        body,
        signal,
      });
      const text = await readCapped(response.body);
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        const result = delivery.accept({ status, text, json: parseJson(text) });
        return { ...result, detail: hide(result.detail) };
      }
      const now = (this.options.clock ?? Date.now)();
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
      return {
        ok: false,
        status,
        detail: hide(`HTTP ${status} ${oneLine(text)}`.trim()),
        retryable: status === 408 || status === 429 || status >= 500,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    } catch (error) {
      if (signal.aborted) {
        return { ok: false, detail: 'timed out waiting for the receiver', retryable: true };
      }
      const { code, message } = error as NodeJS.ErrnoException;
      return {
        ok: false,
        detail: hide(`cannot reach ${redactUrl(url)}: ${code ?? 'error'} ${message}`),
        // A refused address stays refused; anything else is the network's.
        retryable: code !== 'ERR_BLOCKED_ADDRESS',
      };
    }
  }
}

/** The first 200 characters of an answer, on one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxAnswerBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxAnswerBytes).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A value from a receiver's answer as text (strings as they are, anything else as JSON). */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/** A field of a JSON object answer, or undefined. */
export function field(json: unknown, name: string): unknown {
  return typeof json === 'object' && json !== null
    ? (json as Record<string, unknown>)[name]
    : undefined;
}
