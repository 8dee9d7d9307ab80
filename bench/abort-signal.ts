// `npm run bench:signal`: what one request's abort handle costs (util/request-work.ts). Each
// iteration does what a request does with it: make the handle, take its signal, add an `abort`
// listener (undici does) and remove it when the work ends; the last 16 stay referenced, like
// requests in flight. Node's AbortController and the RequestWork class alternate in rounds of
// BENCH_ITERATIONS (500,000), BENCH_ROUNDS (6) times; printed: ns per handle and full
// (mark-compact) collections per million handles for each, and their ratios.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { RequestWork } from '../src/util/request-work.js';
import { median } from './support.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 500_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);

let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { detail } = entry as { detail?: { kind?: number } };
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  }
}).observe({ entryTypes: ['gc'] });

const makers = {
  AbortController: () => new AbortController(),
  RequestWork: () => new RequestWork(),
};

async function round(make: () => { signal: AbortSignal }) {
  const inFlight: unknown[] = new Array(16);
  const listener = () => undefined;
  // Let the previous round's collections be counted first.
  await new Promise((resolve) => setImmediate(resolve));
  const gcsBefore = majorGcs;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const handle = make();
    handle.signal.addEventListener('abort', listener, { once: true });
    handle.signal.removeEventListener('abort', listener);
    inFlight[i % 16] = handle;
  }
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  // The observer reports collections asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { ns, majorPerMillion: ((majorGcs - gcsBefore) * 1e6) / iterations };
}

const results: Record<keyof typeof makers, Array<{ ns: number; majorPerMillion: number }>> = {
  AbortController: [],
  RequestWork: [],
};
console.log(`abort handles: ${iterations} per round, ${rounds} rounds, node ${process.version}`);
for (let r = 0; r < rounds; r++) {
  const order: Array<keyof typeof makers> =
    r % 2 === 0 ? ['AbortController', 'RequestWork'] : ['RequestWork', 'AbortController'];
  for (const name of order) results[name].push(await round(makers[name]));
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, list]) => [
    name,
    {
      ns: median(list.map((r) => r.ns)),
      majorPerMillion: median(list.map((r) => r.majorPerMillion)),
    },
  ]),
) as Record<keyof typeof makers, { ns: number; majorPerMillion: number }>;
for (const [name, row] of Object.entries(summary)) {
  console.log(
    `${name.padEnd(16)} ${row.ns.toFixed(0).padStart(6)} ns per handle   ${row.majorPerMillion.toFixed(1).padStart(6)} full collections per million handles`,
  );
}
console.log(
  `AbortController over RequestWork: ${(summary.AbortController.ns / summary.RequestWork.ns).toFixed(1)}× the time, ` +
    `${summary.AbortController.majorPerMillion.toFixed(1)} against ${summary.RequestWork.majorPerMillion.toFixed(1)} full collections per million (medians of ${rounds} rounds)`,
);
