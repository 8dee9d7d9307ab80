import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request a receiver took, as it arrived. */
export interface Received {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The exact body. */
  text: string;
}

/** What the receiver answers next; `hang` never answers. */
export interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
  hang?: boolean;
}

/**
 * A real HTTP receiver on 127.0.0.1 (port 0) standing in for a robot, gateway or webhook: it
 * records each request and answers with `reply`, which a test sets.
 */
export class Receiver {
  readonly received: Received[] = [];
  reply: Reply = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
  private server: Server | undefined;
  private origin = '';

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return this.origin;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        });
        const { status, body, headers, hang } = this.reply;
        if (hang === true) return;
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return this;
  }

  /** Forgets what was received and answers `{"errcode":0}` again. */
  reset(): void {
    this.received.length = 0;
    this.reply = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
  }

  /** The last request's body as JSON. */
  lastJson(): unknown {
    const last = this.received.at(-1);
    if (!last) throw new Error('nothing received');
    return JSON.parse(last.text);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
