import { Pool, type Dispatcher } from '../../net/undici.js';
import { assertHostAllowed, guardedLookup } from '../../net/outbound-guard.js';
import { redactSecrets } from '../../util/redact-secrets.js';
import { parseRetryAfter } from '../../util/retry-after.js';
import { abortedCall, ProviderError } from '../provider-error.js';
import { parseErrorMessage } from './wire.js';
import { SseEventTooLargeError } from './sse-parser.js';

/** Errors that mean no connection was made (a reset or close of one is `reset`). */
const noConnectionCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

/** undici's codes for an answer that breaks HTTP (besides its parser's `HTTPParserError`). */
const invalidHttpCodes = new Set([
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export interface EndpointOptions {
  /** Base URL; `…/chat/completions` and `…/models` are appended, after `/v1` when it has no path. */
  url: string;
  apiKey: string | undefined;
  maxConnections: number;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  allowHosts: readonly string[];
  /** Replaces the connection pool (tests); the caller then owns it. */
  dispatcher?: Dispatcher | undefined;
  now?: () => number;
}

export type UpstreamBody = Dispatcher.ResponseData['body'];

/** Most bytes read from an error body or a non-streamed answer. */
const maxErrorBodyBytes = 64 * 1024;
const maxAnswerBytes = 32 * 1024 * 1024;

/**
 * The HTTP side of an OpenAI-compatible endpoint: one keep-alive pool, the key in one header,
 * every failure turned into a `ProviderError`. Redirects are never followed, so the key never
 * travels to another origin.
 */
export class Endpoint {
  readonly chatPath: string;
  readonly modelsPath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly headers: Record<string, string>;
  private readonly now: () => number;

  constructor(private readonly options: EndpointOptions) {
    const url = new URL(options.url);
    assertHostAllowed(url.hostname, options.allowHosts);
    const basePath = url.pathname.replace(/\/+$/, '') || '/v1';
    this.chatPath = `${basePath}/chat/completions${url.search}`;
    this.modelsPath = `${basePath}/models${url.search}`;
    this.now = options.now ?? Date.now;
    this.headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey !== undefined) this.headers.authorization = `Bearer ${options.apiKey}`;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Pool(url.origin, {
        connections: options.maxConnections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: options.firstByteTimeoutMs,
        bodyTimeout: options.idleTimeoutMs,
        connect: {
          timeout: options.connectTimeoutMs,
          lookup: guardedLookup(options.allowHosts),
        },
      });
  }

  /** Sends a request and returns its 2xx response; any other outcome throws a `ProviderError`. */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal,
    timeouts: { headersTimeout?: number } = {},
  ): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        method,
        path,
        body,
        headers: this.headers,
        signal,
        headersTimeout: timeouts.headersTimeout ?? this.options.firstByteTimeoutMs,
        bodyTimeout: this.options.idleTimeoutMs,
      });
    } catch (error) {
      throw this.classify(error, signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;

    const text = await this.readText(response.body, signal, maxErrorBodyBytes).catch(() => '');
    const retryAfter = response.headers['retry-after'];
    throw new ProviderError({
      failure: 'http',
      status: response.statusCode,
      message: `model endpoint answered HTTP ${response.statusCode}`,
      body: this.redact(text.slice(0, 2000)),
      retryAfterMs: parseRetryAfter(
        Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        this.now(),
      ),
      upstreamMessage: this.safeMessage(parseErrorMessage(text)),
    });
  }

  /**
   * Reads a whole body as UTF-8, up to `limit` bytes (more is an error, not a truncation).
   * Event listeners rather than an async iterator: this is on every non-streamed call.
   */
  readText(body: UpstreamBody, signal: AbortSignal, limit = maxAnswerBytes): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          body.destroy(
            new ProviderError({
              failure: 'malformed',
              message: `model endpoint answer exceeds ${limit} bytes`,
            }),
          );
          return;
        }
        chunks.push(chunk);
      });
      body.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
      body.once('error', (error) => reject(this.classify(error, signal)));
    });
  }

  /** Turns a transport error into a `ProviderError`. */
  classify(error: unknown, signal: AbortSignal): ProviderError {
    if (error instanceof ProviderError) return error;
    if (error instanceof SseEventTooLargeError) {
      return new ProviderError({
        failure: 'malformed',
        message: `model endpoint sent ${error.message}`,
        cause: error,
      });
    }
    if (signal.aborted) {
      // The abort reason (e.g. shutting_down) is what the caller should see.
      return abortedCall(signal, error, 'model call aborted');
    }
    const code = (error as { code?: unknown }).code;
    const timeoutCodes = [
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ];
    if (typeof code === 'string' && timeoutCodes.includes(code)) {
      return new ProviderError({
        failure: 'timeout',
        message: `model endpoint: ${code}`,
        cause: error,
      });
    }
    const named = typeof code === 'string' ? code : (error as Error).message;
    const parserError = (error as Error).name === 'HTTPParserError';
    if (parserError || (typeof code === 'string' && invalidHttpCodes.has(code))) {
      return new ProviderError({
        failure: 'malformed',
        message: `model endpoint answered something that is not valid HTTP: ${named}`,
        cause: error,
      });
    }
    if (typeof code === 'string' && noConnectionCodes.has(code)) {
      return new ProviderError({
        failure: 'connect',
        message: `model endpoint connection failed: ${named}`,
        cause: error,
      });
    }
    // UND_ERR_SOCKET ("other side closed"), ECONNRESET, EPIPE: the connection was made and lost.
    return new ProviderError({
      failure: 'reset',
      message: `model endpoint connection broke off: ${named}`,
      cause: error,
    });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** An upstream error message is shown to the caller only without the key and within bounds. */
  private safeMessage(message: string | undefined): string | undefined {
    if (message === undefined) return undefined;
    return this.redact(message).slice(0, 500);
  }

  /** The key, or a run of 8 of its characters (an echo without its `sk-` prefix), hidden. */
  private redact(text: string): string {
    const key = this.options.apiKey;
    return key === undefined ? text : redactSecrets(text, [key], '[redacted]');
  }
}
