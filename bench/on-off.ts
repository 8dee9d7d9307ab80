// `npm run bench:onoff`: the on/off ratios of the security and monitoring issues, measured by
// alternating short runs of the two servers, with an A/A control that shows the method's noise.
//
// The gateway benchmark (`npm run bench`) runs each scenario for 4 s per round; on this shared
// 2-core machine two identically configured servers came out 0.47 to 1.29 apart in a round. Here
// every comparison alternates the two servers in slices of BENCH_SLICE seconds (default 1.5),
// BENCH_PAIRS times (default 10; the order flips each pair), so drift hits both alike, and
// reports per route:
//   A/A      two identically configured servers (the noise of the method: ideally 1.00)
//   access   auth (JWT) + policy + audit on / off (target >= 0.85)
//   metrics  metrics and time series on / off (target >= 0.95)
// as the throughput ratio over all slices (requests served, on over off), the median and range of
// the per-pair ratios, and the ratio of server CPU per request (off over on, from /proc).
import { cpus } from 'node:os';
import { runWithCpu, startAssistd, startHelper, stopAll } from './support.js';

const pairs = Number(process.env.BENCH_PAIRS ?? 10);
const slice = Number(process.env.BENCH_SLICE ?? 1.5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);

type Server = Awaited<ReturnType<typeof startAssistd>>;

const routes = {
  '/v1/chat/completions': JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: '你好' }],
    temperature: 0.7,
  }),
  '/v1/chat': JSON.stringify({ messages: [{ role: 'user', content: '你好' }] }),
};

/** Requests served and server CPU seconds spent in one run. */
function run(server: Server, route: keyof typeof routes, seconds: number) {
  return runWithCpu(server, route, routes[route], { connections, seconds });
}

async function compare(on: Server, off: Server, route: keyof typeof routes) {
  await run(on, route, 2);
  await run(off, route, 2);
  const totals = { on: { requests: 0, cpu: 0 }, off: { requests: 0, cpu: 0 } };
  const ratios: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const got = { on: 0, off: 0 };
    for (const side of order) {
      const result = await run(side === 'on' ? on : off, route, slice);
      got[side] = result.requests;
      totals[side].requests += result.requests;
      totals[side].cpu += result.cpu;
    }
    ratios.push(got.on / got.off);
  }
  ratios.sort((x, y) => x - y);
  const perRequest = (side: 'on' | 'off') => totals[side].cpu / totals[side].requests;
  return {
    throughput: totals.on.requests / totals.off.requests,
    median: ratios[Math.floor(ratios.length / 2)]!,
    low: ratios[0]!,
    high: ratios.at(-1)!,
    cpu: perRequest('off') / perRequest('on'),
    cpuMicros: { on: perRequest('on') * 1e6, off: perRequest('off') * 1e6 },
  };
}

try {
  const upstream = (await startHelper('upstream.ts')).url;
  const full = await startAssistd(upstream);
  const twin = await startAssistd(upstream);
  const open = await startAssistd(upstream, { open: true });
  const unmonitored = await startAssistd(upstream, {
    extraConfig: 'metrics:\n  enabled: false\n',
  });
  console.log(
    `on/off benchmark: ${pairs} pairs of ${slice} s slices, ${connections} connections, ` +
      `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
  );
  const comparisons = [
    ['A/A    ', twin, '(target 1.00: the noise of the method)'],
    ['access ', open, '(target >= 0.85)'],
    ['metrics', unmonitored, '(target >= 0.95)'],
  ] as const;
  for (const route of Object.keys(routes) as Array<keyof typeof routes>) {
    for (const [name, off, target] of comparisons) {
      const result = await compare(full, off, route);
      console.log(
        `${route.padEnd(20)} ${name} on/off ${result.throughput.toFixed(3)} ${target}; ` +
          `pairs median ${result.median.toFixed(3)}, ${result.low.toFixed(2)}–${result.high.toFixed(2)}; ` +
          `CPU per request off/on ${result.cpu.toFixed(3)} ` +
          `(${result.cpuMicros.on.toFixed(0)} / ${result.cpuMicros.off.toFixed(0)} µs)`,
      );
    }
  }
} finally {
  stopAll();
}
