import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { mintToken } from '../../src/security/tokens.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { openStore } from '../../src/storage/open.js';
import { FakeUpstream } from './fake-upstream.js';

export const testApiKey = 'sk-test-SECRETKEY-123';

export interface HarnessOptions {
  /** Config on top of the test defaults (an endpoint at the fake upstream, port 0). */
  config?: Partial<ConfigInput>;
  /** Leave the model endpoint out. */
  noEndpoint?: boolean;
  upstream?: FakeUpstream;
  /** `'off'`: StartServerOptions.accessControl (the benchmarks' comparison server). */
  accessControl?: 'off';
  /** StartServerOptions.consoleDir: the built console to serve (absent: `dist/console/`). */
  consoleDir?: string;
}

/** A real server on 127.0.0.1:0 with a temp data dir, a fake upstream and captured logs. */
export class Harness {
  adminToken = '';
  private readonly tokens = new Map<string, string>();
  /** Bearer tokens and message texts sent: none may appear in a log line (checked on close). */
  private readonly secrets = new Set<string>();

  private constructor(
    readonly server: RunningServer,
    readonly upstream: FakeUpstream,
    readonly dataDir: string,
    readonly config: Readonly<Config>,
    private readonly ownsUpstream: boolean,
    private readonly captured: { text: string },
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const upstream = options.upstream ?? (await FakeUpstream.start());
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-test-'));
    const config = configSchema.parse({
      port: 0,
      data_dir: dataDir,
      log_level: 'debug',
      shutdown_grace_seconds: 2,
      ...(options.noEndpoint ? {} : { model_endpoint: upstream.url, api_key: testApiKey }),
      ...options.config,
      upstream: { model: 'gpt-4o-mini', retry_base_delay_ms: 1, ...options.config?.upstream },
    });
    const captured = { text: '' };
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        captured.text += chunk.toString();
        callback();
      },
    });
    let announced = '';
    const server = await startServer({
      config,
      logger: createLogger('debug', { destination: sink }),
      announce: (text) => {
        announced += text;
      },
      ...(options.accessControl ? { accessControl: options.accessControl } : {}),
      ...(options.consoleDir === undefined ? {} : { consoleDir: options.consoleDir }),
    });
    const harness = new Harness(
      server,
      upstream,
      dataDir,
      config,
      options.upstream === undefined,
      captured,
    );
    harness.adminToken = /asd_\S+/.exec(announced)?.[0] ?? '';
    return harness;
  }

  get url(): string {
    return this.server.url;
  }

  /** Where the CLI finds this server's data: its data dir, and its database when not SQLite. */
  cliArgs(): string[] {
    const { database, redis } = this.config;
    return [
      '--data-dir',
      this.dataDir,
      ...(database.url === undefined ? [] : ['--database-url', database.url]),
      ...(redis.url === undefined ? [] : ['--redis-url', redis.url]),
    ];
  }

  /** The environment the CLI needs besides `cliArgs` (schema, key prefix, shared master key). */
  cliEnv(): Record<string, string> {
    const masterKey = this.config.security.master_key_file;
    return {
      ASSISTD_DATABASE_SCHEMA: this.config.database.schema,
      ASSISTD_REDIS_KEY_PREFIX: this.config.redis.key_prefix,
      ...(masterKey === undefined ? {} : { ASSISTD_MASTER_KEY_FILE: masterKey }),
    };
  }

  /** Everything logged so far. */
  logs(): string {
    return this.captured.text;
  }

  /** A token for `principal`, issued offline against the same data dir as the running server. */
  async token(principal: string): Promise<string> {
    const existing = this.tokens.get(principal);
    if (existing) return existing;
    const store = await openStore(this.config);
    const issued = mintToken({ principal, ttlMs: 3_600_000, now: Date.now() });
    await store.tokens.insertToken(issued.record);
    await store.close();
    this.tokens.set(principal, issued.token);
    return issued.token;
  }

  /** `fetch` against the server, as `principal` (admin when omitted, none with `null`). */
  async request(
    path: string,
    init: {
      method?: string;
      body?: unknown;
      principal?: string | null;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.principal !== null) {
      headers.authorization = `Bearer ${init.principal === undefined ? this.adminToken : await this.token(init.principal)}`;
    }
    const bearer = /^Bearer +(\S{16,})/i.exec(headers.authorization ?? '')?.[1];
    if (bearer !== undefined) this.secrets.add(bearer);
    let body: string | undefined;
    if (init.body !== undefined) {
      for (const text of messageTexts(init.body)) this.secrets.add(text);
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(`${this.url}${path}`, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      ...(init.signal ? { signal: init.signal } : {}),
    });
  }

  /** The JSON body and status of a request. */
  async json<T = Record<string, unknown>>(
    path: string,
    init: Parameters<Harness['request']>[1] = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await this.request(path, init);
    return {
      status: response.status,
      body: (await response.json()) as T,
      headers: response.headers,
    };
  }

  /** Waits until /ready answers 200 (a local model loads in the background). */
  async waitForReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.request('/ready', { principal: null })).status !== 200) {
      if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * Stops the server and checks its whole log: no bearer token a test sent, no upstream API key,
   * no private key and no message text a test sent may appear in any line (the security issue's
   * "no token, key or message text in any log line produced by the test suite").
   */
  async close(): Promise<void> {
    await this.server.shutdown('test done');
    if (this.ownsUpstream) await this.upstream.close();
    rmSync(this.dataDir, { recursive: true, force: true });
    const leaks = findLeaks(this.captured.text, [...this.secrets, testApiKey]);
    if (leaks.length > 0) throw new Error(`secrets in the server log:\n${leaks.join('\n')}`);
  }
}

/** Parses an SSE response body into `[event, data]` pairs. */
/** Texts a test sent as message content, long enough (8+ characters) to be told apart. */
function messageTexts(body: unknown): string[] {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return [];
    }
  }
  const texts: string[] = [];
  const visit = (value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if ((key === 'content' || key === 'text') && value.trim().length >= 8) texts.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, key === 'content' ? 'content' : undefined);
    } else if (typeof value === 'object' && value !== null) {
      for (const [name, item] of Object.entries(value)) visit(item, name);
    }
  };
  visit(parsed, undefined);
  return texts;
}

/** Log lines holding one of `secrets`, a PEM private key or a JWT, described without the secret. */
export function findLeaks(log: string, secrets: readonly string[]): string[] {
  const leaks: string[] = [];
  log.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${line.slice(0, 120)}`;
    if (line.includes('PRIVATE KEY')) leaks.push(`a PEM private key, ${where}`);
    if (/eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./.test(line)) leaks.push(`a JWT, ${where}`);
    for (const secret of secrets) {
      // As written, and as it would be escaped inside a JSON log line.
      if (line.includes(secret) || line.includes(JSON.stringify(secret).slice(1, -1))) {
        leaks.push(`"${secret.slice(0, 12)}…", ${where}`);
      }
    }
  });
  return leaks;
}

export async function readEvents(
  response: Response,
): Promise<Array<{ event: string; data: string }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      return { event, data: data.join('\n') };
    });
}
