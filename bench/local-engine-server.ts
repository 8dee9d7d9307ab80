// The HTTP side of the local-engine benchmark: assistd from dist/ serving a local GGUF model in
// its own process, and a minimal /v1/chat/completions client that times the stream.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Message } from './local-engine-load.js';
import { root } from './support.js';

const servers: LocalServer[] = [];

export interface LocalServerOptions {
  modelPath: string;
  maxBatchSize: number;
  contextSize: number;
  threads: number;
  /** Extra node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (written on a clean exit). */
  nodeArgs?: string;
}

export interface LocalServer {
  url: string;
  token: string;
  pid: number;
  logFile: string;
  /** SIGTERM and wait for the exit (so --cpu-prof writes its profile); SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts `assistd serve --model-path FILE` from dist/ on a free port, logging at `info` to a
 * file, and returns once /ready says the model has loaded (it loads in the background).
 */
export async function startLocalAssistd(options: LocalServerOptions): Promise<LocalServer> {
  const dir = mkdtempSync(join(tmpdir(), 'assistd-local-bench-'));
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const command =
    `exec "${process.execPath}" ${options.nodeArgs ?? ''} "${join(root, 'dist/main.js')}" serve ` +
    `--port ${port} --data-dir "${join(dir, 'data')}" --model-path "${options.modelPath}" ` +
    `--max-batch-size ${options.maxBatchSize} --context-size ${options.contextSize} ` +
    `--threads ${options.threads} --log-level info > "${logFile}" 2>&1`;
  const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  for (let waited = 0; waited < 120_000; waited += 100) {
    const ready = await fetch(`${url}/ready`).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      () => ({ status: 0, body: '' }),
    );
    if (/ failed: /.test(ready.body)) {
      await stop();
      throw new Error(`assistd could not load the model: ${ready.body}; see ${logFile}`);
    }
    if (ready.status === 200) {
      const token = /^\s+(asd_\S+)$/m.exec(readFileSync(logFile, 'utf8'))![1]!;
      const server = { url, token, pid: child.pid!, logFile, stop };
      servers.push(server);
      return server;
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  await stop();
  throw new Error(`assistd did not become ready; see ${logFile}`);
}

/** Stops every server started here (at the end of the run, whatever happened). */
export async function stopLocalServers(): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ChatSettings {
  maxTokens: number;
  temperature: number;
  seed: number;
  /** SSE (`stream: true`, usage in the last chunk) or one JSON answer. */
  stream: boolean;
}

export interface ChatOutcome {
  /** The answer. */
  text: string;
  /** Milliseconds from sending the request to the first chunk carrying text (stream only). */
  ttftMs: number | undefined;
  totalMs: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | undefined;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

interface Chunk {
  choices: { delta: { content?: string } }[];
  usage?: Usage | null;
}

/** One POST /v1/chat/completions; throws on a non-200 answer or a stream without usage. */
export async function chat(
  server: LocalServer,
  messages: readonly Message[],
  settings: ChatSettings,
): Promise<ChatOutcome> {
  const started = performance.now();
  const response = await request(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${server.token}`,
    },
    body: JSON.stringify({
      messages,
      max_tokens: settings.maxTokens,
      temperature: settings.temperature,
      seed: settings.seed,
      ...(settings.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  if (response.statusCode !== 200) {
    throw new Error(`HTTP ${response.statusCode}: ${await response.body.text()}`);
  }
  if (!settings.stream) {
    const body = (await response.body.json()) as {
      choices: { message: { content: string } }[];
      usage: Usage;
    };
    return outcome(started, body.choices[0]?.message.content ?? '', undefined, body.usage);
  }
  let answer = '';
  let ttftMs: number | undefined;
  let usage: Usage | undefined;
  let buffered = '';
  response.body.setEncoding('utf8');
  for await (const text of response.body as AsyncIterable<string>) {
    buffered += text;
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6)) as Chunk;
      const content = chunk.choices[0]?.delta.content ?? '';
      if (ttftMs === undefined && content !== '') ttftMs = performance.now() - started;
      answer += content;
      if (chunk.usage) usage = chunk.usage;
    }
  }
  if (!usage) throw new Error('the stream ended without usage');
  return outcome(started, answer, ttftMs, usage);
}

function outcome(
  started: number,
  text: string,
  ttftMs: number | undefined,
  usage: Usage,
): ChatOutcome {
  return {
    text,
    ttftMs,
    totalMs: performance.now() - started,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens,
  };
}
