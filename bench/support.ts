// What the benchmarks share: starting the helper servers and assistd as separate processes, and
// reading a process's CPU time and memory from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

export const root = new URL('../', import.meta.url).pathname;
const children: ChildProcess[] = [];

export interface Started {
  url: string;
  pid: number;
}

/** Starts a TypeScript helper from bench/ and returns the URL it prints. */
export async function startHelper(file: string, args: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve) =>
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  return { url, pid: child.pid! };
}

export interface AssistdOptions {
  logLevel?: string;
  /** Flags for node itself (e.g. `--cpu-prof`). */
  nodeArgs?: string;
  /**
   * Access control off (bench/assistd-open.ts): no authentication, no policy check, no audit
   * log. The same server otherwise, for measuring what they cost.
   */
  open?: boolean;
  /** More YAML for the server's config file (top-level keys other than `limits`). */
  extraConfig?: string;
}

/**
 * Starts assistd from dist/ on a free port with its logs going to a file, as a deployment would,
 * and returns once /health answers, with a bearer token for it: a JWT from `assistd tokens
 * issue` (RS256, verified on every request), or '' when access control is off.
 */
export async function startAssistd(
  upstream: string,
  options: AssistdOptions = {},
): Promise<Started & { token: string }> {
  const { logLevel = 'info', nodeArgs = process.env.BENCH_NODE_ARGS ?? '', open = false } = options;
  const dir = mkdtempSync(join(tmpdir(), 'assistd-bench-'));
  const logFile = join(dir, 'server.log');
  const dataDir = join(dir, 'data');
  // One principal sends every request: budgets high enough never to bite, still checked.
  const configFile = join(dir, 'bench.yaml');
  writeFileSync(
    configFile,
    'limits:\n  requests_per_minute: 1000000000\n  request_burst: 1000000000\n' +
      '  tokens_per_minute: 1000000000\n  token_burst: 1000000000\n' +
      (open ? 'audit:\n  enabled: false\n' : '') +
      (options.extraConfig ?? ''),
  );
  const port = await freePort();
  const entry = open
    ? `--import tsx "${join(root, 'bench/assistd-open.ts')}" "${configFile}" ${port} "${dataDir}" ${upstream} ${logLevel}`
    : `"${join(root, 'dist/main.js')}" serve --config "${configFile}" --port ${port} --data-dir "${dataDir}" ` +
      `--model-endpoint ${upstream} --upstream-model bench-model --log-level ${logLevel}`;
  const command = `exec "${process.execPath}" ${nodeArgs} ${entry} > "${logFile}" 2>&1`;
  const child = spawn('sh', ['-c', command], { stdio: 'ignore', cwd: root });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; waited < 15_000; waited += 50) {
    if (
      await fetch(`${url}/health`).then(
        (response) => response.ok,
        () => false,
      )
    ) {
      const token = open ? '' : issueJwt(dataDir, configFile);
      return { url, token, pid: child.pid! };
    }
    await sleep(50);
  }
  throw new Error(`assistd did not start; see ${logFile}`);
}

/** `assistd tokens issue` against a running server's data dir: the JWT a client would hold. */
function issueJwt(dataDir: string, configFile: string): string {
  return execFileSync(
    process.execPath,
    [
      join(root, 'dist/main.js'),
      'tokens',
      'issue',
      '--principal',
      'bench@example.com',
      '--data-dir',
      dataDir,
      '--config',
      configFile,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  ).trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** User + system CPU seconds a process has used. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; 100 per second on Linux
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/**
 * One closed-loop autocannon run of POST `path` against a server: requests/s, requests served and
 * the server's CPU seconds meanwhile. Any failed request is an error (the run's figures would lie).
 */
export async function runWithCpu(
  server: { url: string; pid: number; token: string },
  path: string,
  body: string,
  options: { connections: number; seconds: number },
): Promise<{ rps: number; requests: number; cpu: number }> {
  const before = cpuSeconds(server.pid);
  const result = await autocannon({
    url: `${server.url}${path}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(server.token === '' ? {} : { authorization: `Bearer ${server.token}` }),
    },
    body,
    connections: options.connections,
    duration: options.seconds,
  });
  const errors = result.errors + result.non2xx + result.timeouts;
  if (errors > 0) throw new Error(`${errors} failed requests on ${server.url}${path}`);
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    cpu: cpuSeconds(server.pid) - before,
  };
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function stopAll(): void {
  for (const child of children) child.kill('SIGKILL');
}
