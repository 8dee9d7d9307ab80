// `npm run bench:floor`: what the stack itself costs before any of assistd's features, measured
// side by side in one run. The gateway benchmark's target is c/b >= 0.7: assistd with auth at 70 %
// of the throughput of a bare ~20-line undici proxy (b). The same proxy written on Fastify 5 (the
// framework the core issue prescribes) shows how much of that budget the framework, JSON handling
// and one access-log line take on their own (bench/fastify-proxy.ts):
//   (b)      bench/bare-proxy.ts: node:http + undici, bytes through
//   (f)      Fastify 5, bytes through
//   (fj)     (f) with Fastify's JSON body parser and the answer parsed and re-serialised
//   (fl)     (fj) with one pino access line a request, written to a file
//   (c0)     assistd /v1/chat/completions with access control off (bench/assistd-open.ts)
//   (c)      assistd /v1/chat/completions with JWT, policy and audit, as `assistd serve` runs it
// Each runs BENCH_SECONDS (3) per round with 16 connections, BENCH_ROUNDS (4) rounds after a
// warm-up, the order reversed every other round. Printed: req/s (median), throughput over (b)
// (median of the rounds' ratios), and server CPU per request from /proc with its ratio to (b)'s.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { median, root, runWithCpu, startAssistd, startHelper, stopAll } from './support.js';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);

interface Target {
  name: string;
  url: string;
  pid: number;
  token: string;
}

const body = JSON.stringify({
  model: 'bench-model',
  messages: [{ role: 'user', content: '你好' }],
  temperature: 0.7,
});

function run(target: Target, seconds: number) {
  return runWithCpu(target, '/v1/chat/completions', body, { connections, seconds });
}

async function main(): Promise<void> {
  const upstream = await startHelper('upstream.ts');
  const helper = async (name: string, file: string, args: string[]): Promise<Target> => ({
    name,
    token: '',
    ...(await startHelper(file, [upstream.url, ...args])),
  });
  const targets: Target[] = [
    await helper('(b) bare undici proxy', 'bare-proxy.ts', []),
    await helper('(f) Fastify, bytes through', 'fastify-proxy.ts', ['bytes']),
    await helper('(fj) Fastify + JSON in and out', 'fastify-proxy.ts', ['json']),
    await helper('(fl) (fj) + one access-log line', 'fastify-proxy.ts', ['log']),
    {
      name: '(c0) assistd, access control off',
      ...(await startAssistd(upstream.url, { open: true })),
    },
    { name: '(c) assistd, JWT + policy + audit', ...(await startAssistd(upstream.url)) },
  ];
  console.log(
    `stack floor: ${connections} connections, ${seconds} s per run, ${rounds} rounds, ` +
      `node ${process.version}, ${cpus().length} CPUs`,
  );
  for (const target of targets) await run(target, 2);
  const results = new Map(
    targets.map((target) => [target, [] as Awaited<ReturnType<typeof run>>[]]),
  );
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const target of order) results.get(target)!.push(await run(target, seconds));
  }
  const bare = results.get(targets[0]!)!;
  const cpuPerRequest = (list: typeof bare) =>
    (list.reduce((sum, r) => sum + r.cpu, 0) * 1e6) / list.reduce((sum, r) => sum + r.requests, 0);
  const summary = targets.map((target) => {
    const list = results.get(target)!;
    return {
      name: target.name,
      rps: median(list.map((r) => r.rps)),
      throughput_over_b: median(list.map((r, index) => r.rps / bare[index]!.rps)),
      cpu_us_per_request: cpuPerRequest(list),
      b_cpu_over_this: cpuPerRequest(bare) / cpuPerRequest(list),
    };
  });
  console.log('');
  console.log(
    `${'scenario'.padEnd(36)} ${'req/s'.padStart(7)}  over (b)  CPU/request  (b)'s CPU over this`,
  );
  for (const row of summary) {
    console.log(
      `${row.name.padEnd(36)} ${row.rps.toFixed(0).padStart(7)}  ${row.throughput_over_b.toFixed(2).padStart(8)}` +
        `  ${row.cpu_us_per_request.toFixed(0).padStart(8)} µs  ${row.b_cpu_over_this.toFixed(2).padStart(19)}`,
    );
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    join(root, 'bench/results/stack-floor.json'),
    `${JSON.stringify({ connections, seconds, rounds, scenarios: summary }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  stopAll();
}
