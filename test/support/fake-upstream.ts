import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const fixtureDir = new URL('../../src/providers/openai-compatible/__fixtures__/', import.meta.url);

/** Reads a recorded upstream response from the fixtures folder. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, fixtureDir), 'utf8');
}

/** The tool calls the recorded `tool-calls.json` and `tool-calls.sse` hold, in OpenAI's shape. */
export const recordedToolCalls = [
  {
    id: 'call_3bcBW0EcDxiX9lM5c9P0LyNu',
    type: 'function',
    function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
  },
  {
    id: 'call_Qb1m3U3vQHkNrd7R1OJdGB8T',
    type: 'function',
    function: { name: 'get_weather', arguments: '{"city":"北京"}' },
  },
] as const;

/** Splits a recorded SSE body into its events, keeping each event's own line ends. */
export function sseEvents(text: string): string[] {
  return text.split(/(?<=\r?\n\r?\n)/).filter((event) => event !== '');
}

/** How the fake endpoint answers one request. */
export type Behaviour =
  | {
      kind: 'json';
      fixture?: string;
      body?: unknown;
      status?: number;
      headers?: Record<string, string>;
      /** Wait before sending headers. */
      delayMs?: number;
    }
  | {
      kind: 'sse';
      fixture?: string;
      events?: string[];
      status?: number;
      /** Wait before sending headers. */
      firstByteDelayMs?: number;
      /** Wait between events. */
      gapMs?: number;
      /** Destroy the socket after this many events (a reset mid-stream). */
      cutAfter?: number;
      /** Stop sending (but keep the socket open) after this many events. */
      stallAfter?: number;
      /** End the response cleanly after this many events (a truncated stream). */
      endAfter?: number;
    }
  | {
      /** Any status, headers and body, written in `chunks` pieces (wrong types, giant bodies). */
      kind: 'raw';
      status?: number;
      headers?: Record<string, string>;
      body: string | Buffer;
      chunks?: number;
    }
  | { kind: 'reset' }
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** True when the client closed the connection before the response ended. */
  clientClosed: boolean;
}

/**
 * An OpenAI-compatible endpoint on 127.0.0.1 that replays recorded fixtures, scripted per
 * request: `enqueue` sets what the next chat calls get; otherwise the recorded completion (or
 * stream, when the request asks for one) is sent.
 */
export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted, to check keep-alive reuse. */
  connections = 0;
  /** Responses begun and not yet closed: a client that left must not leave one open. */
  openResponses = 0;
  modelsBehaviour: Behaviour = { kind: 'json', fixture: 'models.json' };
  private queue: Behaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  url = '';

  static async start(): Promise<FakeUpstream> {
    const upstream = new FakeUpstream();
    await upstream.listen();
    return upstream;
  }

  enqueue(...behaviours: Behaviour[]): void {
    this.queue.push(...behaviours);
  }

  reset(): void {
    this.queue = [];
    this.requests.length = 0;
    this.modelsBehaviour = { kind: 'json', fixture: 'models.json' };
  }

  /** Chat requests received so far. */
  get chatRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.url.endsWith('/chat/completions'));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body,
      clientClosed: false,
    };
    this.requests.push(recorded);
    this.openResponses++;
    response.on('close', () => {
      this.openResponses--;
      if (!response.writableFinished) recorded.clientClosed = true;
    });

    const isChat = recorded.url.endsWith('/chat/completions');
    const wantsStream =
      typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
    const behaviour: Behaviour = isChat
      ? (this.queue.shift() ??
        (wantsStream
          ? { kind: 'sse', fixture: 'stream.sse' }
          : { kind: 'json', fixture: 'completion.json' }))
      : recorded.url.endsWith('/models')
        ? this.modelsBehaviour
        : { kind: 'json', status: 404, body: { error: { message: 'not found' } } };
    await this.respond(behaviour, response);
  }

  private async respond(behaviour: Behaviour, response: ServerResponse): Promise<void> {
    switch (behaviour.kind) {
      case 'reset':
        response.socket?.destroy();
        return;
      case 'hang':
        return;
      case 'raw': {
        response.writeHead(behaviour.status ?? 200, behaviour.headers ?? {});
        const body = Buffer.from(behaviour.body);
        const pieces = Math.max(1, behaviour.chunks ?? 1);
        const size = Math.ceil(body.length / pieces);
        for (let at = 0; at < body.length && !response.destroyed; at += size) {
          if (!response.write(body.subarray(at, at + size))) {
            // Both listeners go once either fires: a slow reader makes this wait many times.
            await new Promise<void>((resolve) => {
              const done = () => {
                response.off('drain', done).off('close', done);
                resolve();
              };
              response.on('drain', done).on('close', done);
            });
          }
        }
        response.end();
        return;
      }
      case 'json': {
        await sleep(behaviour.delayMs ?? 0);
        const payload =
          behaviour.fixture !== undefined
            ? fixture(behaviour.fixture)
            : JSON.stringify(behaviour.body ?? {});
        response.writeHead(behaviour.status ?? 200, {
          'content-type': 'application/json',
          ...behaviour.headers,
        });
        response.end(payload);
        return;
      }
      case 'sse': {
        await sleep(behaviour.firstByteDelayMs ?? 0);
        const events = behaviour.events ?? sseEvents(fixture(behaviour.fixture ?? 'stream.sse'));
        response.writeHead(behaviour.status ?? 200, { 'content-type': 'text/event-stream' });
        response.flushHeaders();
        for (const [index, event] of events.entries()) {
          if (behaviour.cutAfter === index) {
            await sleep(30); // let what was written reach the client first
            response.socket?.destroy();
            return;
          }
          if (behaviour.stallAfter === index) return;
          if (behaviour.endAfter === index) break;
          if (index > 0) await sleep(behaviour.gapMs ?? 0);
          if (response.destroyed) return;
          response.write(event);
        }
        response.end();
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` holds (for effects that land just after a response). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await sleep(10);
  }
}
