// Soak (reliability issue, part 4). One command: `npm run soak` (10 minutes; SOAK_SECONDS to
// change it). Starts assistd from dist/ with a local demo model (tiny GGUF, real llama.cpp) and a
// fast fake upstream, measures the capacity of a mixed workload (closed loop, 16 clients), then
// runs that mix open-loop at half of it for the duration:
//   35 % /v1/chat/completions (upstream)        15 % /v1/chat/completions, streamed (upstream)
//   30 % /v1/chat, stored (upstream)            20 % /v1/chat, streamed, local model (8 tokens)
// and reports errors (target 0), P50/P99 per time window, and the server's RSS and open file
// descriptors at rest after the warm-up and at the end (target: growth under 10 %; each the
// median of three samples). SOAK_WARMUP_SECONDS (default a fifth of the run, at most 60) and
// SOAK_CACHE_ENTRIES (context_cache.max_entries) shape short runs. Exit 1 when a target
// is missed. Results also go to bench/results/soak.json.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { writeTinyModel } from '../src/providers/tiny-model/tiny-model.js';
import { openLoop, percentile } from './paced-load.js';
import { root, rssMb, startAssistd, startHelper, stopAll } from './support.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const capacitySeconds = Number(process.env.SOAK_CAPACITY_SECONDS ?? 8);
const warmupSeconds = Number(
  process.env.SOAK_WARMUP_SECONDS ?? Math.min(60, Math.max(2, seconds * 0.2)),
);
/** Context-cache entries (the server's default when unset): a short run uses few, so the cache
 * reaches its bound during the warm-up and its filling is not counted as growth. */
const cacheEntries = process.env.SOAK_CACHE_ENTRIES;
/** RSS growth allowed (10 %). A run of a minute is not at steady state yet (the heap still grows
 * toward its working size: +9.6 % from 30 s to 60 s, +1.6 % from 1 to 10 minutes), so the CI run
 * allows more and the 10-minute run holds the target. */
const rssLimit = Number(process.env.SOAK_RSS_LIMIT ?? 0.1);
const windowSeconds = Math.max(2, Math.round(seconds / 30));

interface Kind {
  name: string;
  path: string;
  body: string;
  /** How a successful answer ends. */
  ends: string;
}

function kinds(localModel: string): Kind[] {
  const messages = [{ role: 'user', content: 'how is the weather today?' }];
  return [
    {
      name: 'completion',
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'bench-model', messages }),
      ends: '"finish_reason":"stop"',
    },
    {
      name: 'completion-stream',
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'bench-model', messages, stream: true }),
      ends: 'data: [DONE]\n\n',
    },
    {
      name: 'chat',
      path: '/v1/chat',
      body: JSON.stringify({ model: 'bench-model', messages }),
      ends: '"finish_reason":"stop"',
    },
    {
      name: 'chat-stream-local',
      path: '/v1/chat',
      body: JSON.stringify({ model: localModel, messages, stream: true, max_tokens: 8 }),
      ends: 'event: done',
    },
  ];
}

/** Request i of the mix (35 / 15 / 30 / 20 in every 20). */
const pattern = [0, 2, 0, 3, 0, 1, 2, 0, 3, 2, 0, 1, 0, 2, 3, 0, 2, 1, 2, 3];

interface Sample {
  at: number;
  ms: number;
  ok: boolean;
  kind: string;
}

async function once(pool: Pool, kind: Kind, token: string): Promise<boolean> {
  try {
    const response = await pool.request({
      path: kind.path,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: kind.body,
    });
    const text = await response.body.text();
    return response.statusCode === 200 && text.includes(kind.ends);
  } catch {
    return false;
  }
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

async function main(): Promise<number> {
  const modelDir = mkdtempSync(join(tmpdir(), 'assistd-soak-model-'));
  await writeTinyModel(join(modelDir, 'soak-q8_0.gguf'), {
    script: 'The weather is fine today.',
  });
  const upstream = await startHelper('upstream.ts');
  const server = await startAssistd(upstream.url, {
    extraConfig:
      `model_path: ${JSON.stringify(modelDir)}\n` +
      'local_model:\n  max_batch_size: 8\n  queue_max: 256\n  context_size: 512\n  threads: 1\n' +
      (cacheEntries === undefined
        ? ''
        : `context_cache:\n  max_entries: ${Number(cacheEntries)}\n`),
  });
  for (let waited = 0; (await fetch(`${server.url}/ready`)).status !== 200; waited += 100) {
    if (waited > 60_000) throw new Error('the local model did not load');
    await sleep(100);
  }
  const listed = (await (
    await fetch(`${server.url}/v1/models`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
  ).json()) as { data: Array<{ id: string; owned_by: string }> };
  const local = listed.data.find((model) => model.id !== 'bench-model')!.id;
  const mix = kinds(local);
  const pool = new Pool(server.url, { connections: 64, pipelining: 1 });

  // Capacity: 16 clients back to back through the mix.
  let done = 0;
  const until = performance.now() + capacitySeconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, client) => {
      for (let index = client; performance.now() < until; index += 16) {
        await once(pool, mix[pattern[index % pattern.length]!]!, server.token);
        done++;
      }
    }),
  );
  const capacity = done / capacitySeconds;
  const rate = Math.max(1, Math.floor(capacity / 2));
  console.log(
    `soak: ${seconds} s at ${rate} req/s (half of the measured ${capacity.toFixed(0)} req/s), ` +
      `warm-up ${warmupSeconds} s, windows of ${windowSeconds} s`,
  );

  // The run: open loop, latency from the instant each request was due. It pauses once, after the
  // warm-up, to measure the server at rest (every request answered, the clients' connections
  // closed), and measures it at rest again at the end: RSS and descriptors under load would
  // count the clients' connections and the garbage of the moment.
  const samples: Sample[] = [];
  const warmupCount = Math.floor(rate * warmupSeconds);
  const total = Math.floor(rate * seconds);
  let clients = pool;
  const phase = async (from: number, to: number, offsetMs: number): Promise<void> => {
    await openLoop(to - from, rate, (index, due) => {
      const kind = mix[pattern[(from + index) % pattern.length]!]!;
      return once(clients, kind, server.token).then((ok) => {
        samples.push({
          at: (index * 1000) / rate + offsetMs,
          ms: performance.now() - due,
          ok,
          kind: kind.name,
        });
      });
    });
    await clients.close();
  };
  /** RSS and descriptors at rest: three samples 300 ms apart after a second's settling. */
  const atRest = async (): Promise<Array<{ rss: number; fds: number }>> => {
    await sleep(1000);
    const found = [];
    for (let index = 0; index < 3; index++) {
      found.push({ rss: rssMb(server.pid), fds: openFds(server.pid) });
      await sleep(300);
    }
    return found;
  };
  await phase(0, warmupCount, 0);
  const first = await atRest();
  clients = new Pool(server.url, { connections: 64, pipelining: 1 });
  await phase(warmupCount, total, warmupSeconds * 1000);
  const last = await atRest();
  const middle = (values: number[]) => percentile(values, 0.5);
  const warm = { rss: middle(first.map((u) => u.rss)), fds: middle(first.map((u) => u.fds)) };
  const atEnd = { rss: middle(last.map((u) => u.rss)), fds: middle(last.map((u) => u.fds)) };

  const windows: Array<{ t: number; requests: number; errors: number; p50: number; p99: number }> =
    [];
  for (let t = 0; t < seconds; t += windowSeconds) {
    const inside = samples.filter((s) => s.at >= t * 1000 && s.at < (t + windowSeconds) * 1000);
    const latencies = inside.map((s) => s.ms);
    windows.push({
      t,
      requests: inside.length,
      errors: inside.filter((s) => !s.ok).length,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
    });
  }
  for (const w of windows) {
    console.log(
      `t=${String(w.t).padStart(4)} s  ${String(w.requests).padStart(6)} requests  ` +
        `${w.errors} errors  p50 ${w.p50.toFixed(1)} ms  p99 ${w.p99.toFixed(1)} ms`,
    );
  }
  const errors = samples.filter((s) => !s.ok).length;
  const rssGrowth = atEnd.rss / warm.rss - 1;
  const fdGrowth = atEnd.fds / warm.fds - 1;
  const byKind = Object.fromEntries(
    mix.map((kind) => {
      const mine = samples.filter((s) => s.kind === kind.name);
      return [kind.name, { requests: mine.length, errors: mine.filter((s) => !s.ok).length }];
    }),
  );
  const summary = {
    seconds,
    capacity_rps: capacity,
    rate_rps: rate,
    requests: samples.length,
    errors,
    by_kind: byKind,
    p99_ms: percentile(
      samples.map((s) => s.ms),
      0.99,
    ),
    rss_mb: { after_warmup: warm.rss, end: atEnd.rss, growth: rssGrowth },
    open_fds: { after_warmup: warm.fds, end: atEnd.fds, growth: fdGrowth },
    windows,
  };
  console.log(
    `\n${samples.length} requests, ${errors} errors (target 0); P99 ${summary.p99_ms.toFixed(1)} ms\n` +
      `RSS ${warm.rss.toFixed(1)} → ${atEnd.rss.toFixed(1)} MB (${(rssGrowth * 100).toFixed(1)} %, target < ${(rssLimit * 100).toFixed(0)} %)\n` +
      `open fds ${warm.fds} → ${atEnd.fds} (${(fdGrowth * 100).toFixed(1)} %, target < 10 %)`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const failed = errors > 0 || rssGrowth >= rssLimit || fdGrowth >= 0.1;
  console.log(failed ? 'soak: FAILED' : 'soak: passed');
  return failed ? 1 : 0;
}

try {
  process.exitCode = await main();
} finally {
  stopAll();
}
