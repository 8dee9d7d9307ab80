import { Agent, request, type Dispatcher } from 'undici';
import { assertHostAllowed, guardedLookup } from '../../net/outbound-guard.js';
import type { SendResult } from '../types.js';

/** Most of a receiver's answer read; robots answer a few bytes of JSON. */
const maxAnswerBytes = 64 * 1024;

/** Query parameters that carry secrets in robot and webhook URLs. */
const secretParameters = /^(key|access_token|token|sign|signature|secret|sig|apikey|api_key)$/i;

/** A URL with its secret query parameters and user info replaced by `***`, for logs and answers. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return '(unparseable URL)';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameters.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/** `text` with every secret (longer than 3 characters) replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length > 3) result = result.split(secret).join('***');
  }
  return result;
}

export interface HttpTargetOptions {
  /** Hosts allowed even though they are private or metadata addresses. */
  allowHosts: readonly string[];
  /** Replaces the connection pool (tests); the host checks still apply to the URL. */
  dispatcher?: Dispatcher | undefined;
  /** Values that must never appear in a `SendResult` (keys, tokens, signing secrets). */
  secrets: readonly string[];
}

/** What a receiver answered: the status and the body's first 64 KiB, parsed when JSON. */
export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/**
 * POSTs JSON to a robot or webhook and classifies the outcome. The URL's host is checked against
 * metadata and private addresses (unless allow-listed) before each send, and again on the DNS
 * answer at connect time; redirects are not followed. `accept` judges a 2xx answer (robots say
 * 200 with an error code in the body).
 */
export class HttpTarget {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: HttpTargetOptions) {
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { lookup: guardedLookup(options.allowHosts, { blockPrivate: true }) },
        keepAliveTimeout: 10_000,
      });
  }

  /** Throws a `BlockedAddressError` for a host that is not allowed (checked at config time). */
  check(url: URL): void {
    assertHostAllowed(url.hostname, this.options.allowHosts, { blockPrivate: true });
  }

  async post(
    url: URL,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    accept: (answer: Answer) => SendResult,
  ): Promise<SendResult> {
    const hide = (text: string) => redact(text, this.options.secrets);
    try {
      this.check(url);
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
        body,
        signal,
        dispatcher: this.dispatcher,
      });
      const text = await readCapped(response.body);
      const answer: Answer = { status: response.statusCode, text, json: parseJson(text) };
      if (response.statusCode >= 200 && response.statusCode < 300) {
        const result = accept(answer);
        return { ...result, detail: hide(result.detail) };
      }
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      const retryable =
        response.statusCode === 429 || response.statusCode === 408 || response.statusCode >= 500;
      return {
        ok: false,
        status: response.statusCode,
        detail: hide(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`.trim()),
        retryable,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    } catch (error) {
      if (signal.aborted) {
        return { ok: false, detail: 'timed out waiting for the receiver', retryable: true };
      }
      const { code, message } = error as NodeJS.ErrnoException;
      const blocked = code === 'ERR_BLOCKED_ADDRESS';
      return {
        ok: false,
        detail: hide(`cannot reach ${redactUrl(url)}: ${code ?? ''} ${message}`.replace('  ', ' ')),
        retryable: !blocked,
      };
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
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

/** `Retry-After` in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(
  header: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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
