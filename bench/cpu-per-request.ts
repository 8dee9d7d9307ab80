// Diagnostic: CPU microseconds per request spent by the bare proxy and by assistd (/proc/PID/stat),
// so gateway overhead can be seen apart from the load generator and the upstream sharing the CPUs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

const root = new URL('../', import.meta.url).pathname;
const ticksPerSecond = 100;
const procs: number[] = [];

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function helper(file: string, args: string[] = []): Promise<{ url: string; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(child.pid!);
  const url = await new Promise<string>((resolve) =>
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  return { url, pid: child.pid! };
}

const upstream = await helper('upstream.ts');
const proxy = await helper('bare-proxy.ts', [upstream.url]);
const dir = mkdtempSync(join(tmpdir(), 'assistd-cpu-'));
const logLevel = process.env.LOG_LEVEL ?? 'info';
const server = spawn(
  'sh',
  [
    '-c',
    `exec "${process.execPath}" "${root}dist/main.js" serve --port 18799 --data-dir "${dir}/data" --model-endpoint ${upstream.url} --upstream-model bench-model --log-level ${logLevel} > "${dir}/log" 2>&1`,
  ],
  { stdio: 'ignore' },
);
procs.push(server.pid!);
const url = 'http://127.0.0.1:18799';
for (;;) {
  await sleep(50);
  if (
    await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
}
const token = /^\s+(asd_\S+)$/m.exec(readFileSync(`${dir}/log`, 'utf8'))![1]!;
const body = JSON.stringify({
  model: 'bench-model',
  messages: [{ role: 'user', content: '你好' }],
  temperature: 0.7,
});

for (const [name, target, pid, headers, path, payload] of [
  ['bare proxy', proxy.url, proxy.pid, {}, '/v1/chat/completions', body],
  [
    'assistd completions',
    url,
    server.pid!,
    { authorization: `Bearer ${token}` },
    '/v1/chat/completions',
    body,
  ],
  [
    'assistd chat',
    url,
    server.pid!,
    { authorization: `Bearer ${token}` },
    '/v1/chat',
    JSON.stringify({ messages: [{ role: 'user', content: '你好' }] }),
  ],
] as const) {
  await autocannon({
    url: target + path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
    connections: 16,
    duration: 2,
  });
  const before = cpuSeconds(pid);
  const result = await autocannon({
    url: target + path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
    connections: 16,
    duration: 5,
  });
  const used = cpuSeconds(pid) - before;
  console.log(
    `${name.padEnd(22)} ${result.requests.average.toFixed(0).padStart(6)} req/s  ${((used * 1e6) / result.requests.total).toFixed(0).padStart(5)} µs CPU/request`,
  );
}
for (const pid of procs) process.kill(pid, 'SIGKILL');
