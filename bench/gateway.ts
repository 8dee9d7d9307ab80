// Gateway benchmark (issue: core chat service). One command: `npm run bench`.
//
// Measures, side by side in one run, against a fast local fake upstream:
//   (a) the fake upstream directly
//   (b) a bare ~20-line undici proxy in front of it (the floor for any Node.js gateway)
//   (c) assistd POST /v1/chat/completions with bearer-token auth
//   (d) assistd POST /v1/chat, which also stores every turn (SQLite, synchronous=FULL)
//   (c0), (d0) the same two on a second assistd with access control off: no JWT verification, no
//       policy evaluation, no audit log (bench/assistd-open.ts)
//   (cm), (dm) (c) and (d) on a third assistd with metrics and the time series off
// and prints requests/s, P50 and P99 for each, the ratios c/b and d/b, on/off (c/c0 and d/d0),
// P99 of (c) against (a) at half of (c)'s maximum rate (with (b) at the same rate: the floor any
// Node.js gateway adds there), and the server's idle RSS. Every server is its own process; the
// load generator (autocannon) runs in this one. Rounds interleave the scenarios so drift on a
// shared machine hits all of them alike (every other round in reverse order); ratios are the
// median over rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { TimeSeries } from '../src/monitor/series.js';
import { pacedLoad } from './paced-load.js';
import { median, root, rssMb, startAssistd, startHelper, stopAll } from './support.js';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, headers: Record<string, string>, body: string): Promise<Result> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

async function main(): Promise<void> {
  const upstream = (await startHelper('upstream.ts')).url;
  const proxy = (await startHelper('bare-proxy.ts', [upstream])).url;
  const assistd = await startAssistd(upstream);
  const open = await startAssistd(upstream, { open: true });
  const unmonitored = await startAssistd(upstream, { extraConfig: 'metrics:\n  enabled: false\n' });
  const unmonitoredAuth = { authorization: `Bearer ${unmonitored.token}` };
  const auth = { authorization: `Bearer ${assistd.token}` };
  await sleep(1000);
  const idleRss = rssMb(assistd.pid);

  const completionBody = JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: '你好' }],
    temperature: 0.7,
  });
  const chatBody = JSON.stringify({
    messages: [{ role: 'user', content: '你好' }],
    temperature: 0.7,
  });
  const scenarios = {
    a: () => load(`${upstream}/v1/chat/completions`, {}, completionBody),
    b: () => load(`${proxy}/v1/chat/completions`, {}, completionBody),
    c: () => load(`${assistd.url}/v1/chat/completions`, auth, completionBody),
    d: () => load(`${assistd.url}/v1/chat`, auth, chatBody),
    c0: () => load(`${open.url}/v1/chat/completions`, {}, completionBody),
    d0: () => load(`${open.url}/v1/chat`, {}, chatBody),
    cm: () => load(`${unmonitored.url}/v1/chat/completions`, unmonitoredAuth, completionBody),
    dm: () => load(`${unmonitored.url}/v1/chat`, unmonitoredAuth, chatBody),
  };
  const names = {
    a: '(a) fake upstream, direct',
    b: '(b) bare undici proxy',
    c: '(c) assistd /v1/chat/completions + auth',
    d: '(d) assistd /v1/chat + storage',
    c0: '(c0) = (c), access control off',
    d0: '(d0) = (d), access control off',
    cm: '(cm) = (c), metrics and series off',
    dm: '(dm) = (d), metrics and series off',
  };
  // Each on/off pair runs back to back (c with cm and c0, d with dm and d0): a noisy neighbour
  // on a shared host then hits both sides of a ratio alike. Every server serves both routes, so
  // each carries the same stored conversations and cache.
  const order = ['a', 'b', 'c', 'cm', 'c0', 'd0', 'd', 'dm'] as const;

  console.log(
    `gateway benchmark: ${connections} connections, ${seconds} s per run, ${rounds} rounds, ` +
      `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
  );
  // Warm-up: JIT and connection pools, not measured.
  for (const run of Object.values(scenarios)) await run();

  const results: Record<(typeof order)[number], Result[]> = {
    a: [],
    b: [],
    c: [],
    d: [],
    c0: [],
    d0: [],
    cm: [],
    dm: [],
  };
  for (let round = 1; round <= rounds; round++) {
    // Every other round runs the scenarios in reverse, so no pair is always measured in the
    // same position (after the same neighbour's load, at the same point of a machine's drift).
    for (const key of round % 2 === 1 ? order : [...order].reverse()) {
      const result = await scenarios[key]();
      results[key].push(result);
      console.log(
        `round ${round}  ${names[key].padEnd(42)} ${result.rps.toFixed(0).padStart(7)} req/s` +
          `  p50 ${result.p50.toFixed(1).padStart(5)} ms  p99 ${result.p99.toFixed(1).padStart(5)} ms` +
          (result.errors > 0 ? `  ERRORS ${result.errors}` : ''),
      );
    }
  }
  const ratio = (x: keyof typeof results, y: keyof typeof results) =>
    median(results[x].map((result, index) => result.rps / results[y][index]!.rps));
  const maxC = median(results.c.map((result) => result.rps));
  const halfRate = Math.max(1, Math.floor(maxC / 2));
  // Open-loop and evenly paced (see paced-load.ts for why not autocannon's rate limit); (a), (b) and
  // (c) alternate over the rounds and the medians are compared.
  const paced = (url: string, headers: Record<string, string>) =>
    pacedLoad({
      url,
      path: '/v1/chat/completions',
      headers,
      body: completionBody,
      rate: halfRate,
      seconds,
      connections,
    });
  // (b) runs at the same rate: the floor a Node.js gateway adds to (a)'s tail on this machine.
  const half: Record<'a' | 'b' | 'c', number[]> = { a: [], b: [], c: [] };
  const targets: Record<'a' | 'b' | 'c', [string, Record<string, string>]> = {
    a: [upstream, {}],
    b: [proxy, {}],
    c: [assistd.url, auth],
  };
  for (let round = 1; round <= rounds; round++) {
    const latest: Record<string, Awaited<ReturnType<typeof paced>>> = {};
    for (const key of round % 2 === 1 ? (['a', 'b', 'c'] as const) : (['c', 'b', 'a'] as const)) {
      latest[key] = await paced(...targets[key]);
      half[key].push(latest[key].p99);
    }
    const [a, b, c] = [latest.a!, latest.b!, latest.c!];
    console.log(
      `round ${round}  paced at ${halfRate} req/s: P99 (a) ${a.p99.toFixed(2)} ms, (b) ${b.p99.toFixed(2)} ms, (c) ${c.p99.toFixed(2)} ms` +
        `  (P50 ${a.p50.toFixed(2)} / ${b.p50.toFixed(2)} / ${c.p50.toFixed(2)} ms; generator start lag P99 ${a.startLagP99.toFixed(2)} / ${b.startLagP99.toFixed(2)} / ${c.startLagP99.toFixed(2)} ms)` +
        (a.errors + b.errors + c.errors > 0 ? `  ERRORS ${a.errors + b.errors + c.errors}` : ''),
    );
  }
  const atHalf = { a: median(half.a), b: median(half.b), c: median(half.c) };
  const loadedRss = rssMb(assistd.pid);

  const summary = {
    connections,
    seconds,
    rounds,
    medians: Object.fromEntries(
      Object.entries(results).map(([key, list]) => [
        key,
        {
          rps: median(list.map((r) => r.rps)),
          p50: median(list.map((r) => r.p50)),
          p99: median(list.map((r) => r.p99)),
        },
      ]),
    ),
    ratio_c_over_b: ratio('c', 'b'),
    ratio_d_over_b: ratio('d', 'b'),
    access_control_on_over_off: { c: ratio('c', 'c0'), d: ratio('d', 'd0') },
    metrics_on_over_off: { c: ratio('c', 'cm'), d: ratio('d', 'dm') },
    series_memory_mb: new TimeSeries().bytes / 2 ** 20,
    half_rate: halfRate,
    p99_at_half_rate: {
      ...atHalf,
      difference: atHalf.c - atHalf.a,
      bare_proxy_difference: atHalf.b - atHalf.a,
    },
    idle_rss_mb: idleRss,
    rss_after_load_mb: loadedRss,
  };
  console.log('');
  console.log(`c/b throughput ratio: ${summary.ratio_c_over_b.toFixed(2)}  (target >= 0.70)`);
  console.log(`d/b throughput ratio: ${summary.ratio_d_over_b.toFixed(2)}`);
  console.log(
    `auth (JWT) + policy + audit on/off: /v1/chat/completions ${summary.access_control_on_over_off.c.toFixed(2)}, ` +
      `/v1/chat ${summary.access_control_on_over_off.d.toFixed(2)}  (target >= 0.85)`,
  );
  console.log(
    `metrics + time series on/off: /v1/chat/completions ${summary.metrics_on_over_off.c.toFixed(2)}, ` +
      `/v1/chat ${summary.metrics_on_over_off.d.toFixed(2)}  (target >= 0.95); time series at the ` +
      `default 24 h × 10 s: ${summary.series_memory_mb.toFixed(2)} MiB, allocated at start`,
  );
  console.log(
    `P99 at half of (c)'s max rate (${halfRate} req/s): (a) ${atHalf.a.toFixed(1)} ms, (c) ${atHalf.c.toFixed(1)} ms, ` +
      `difference ${summary.p99_at_half_rate.difference.toFixed(1)} ms  (target <= 2 ms); ` +
      `the bare proxy (b) at the same rate: ${atHalf.b.toFixed(1)} ms, ` +
      `${summary.p99_at_half_rate.bare_proxy_difference.toFixed(1)} ms above (a)`,
  );
  console.log(
    `assistd RSS: idle ${idleRss.toFixed(1)} MB (target < 100 MB), after load ${loadedRss.toFixed(1)} MB`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/gateway.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

try {
  await main();
} finally {
  stopAll();
}
