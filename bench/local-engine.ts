// Local engine benchmark (issue 3, performance). One command: `npm run bench:local`.
//
// On a generated random-weight model big enough that decoding dominates (512 dims, 8 layers,
// FF 1408, Q8_0), measures side by side in one run:
//   1. generated tokens/s through assistd's HTTP API (streaming /v1/chat/completions) at 1, 4 and
//      16 concurrent chats, against node-llama-cpp driven directly at the same concurrency, in a
//      child process; the ratio HTTP/direct per level (target >= 0.9);
//   2. the batching gain, tokens/s at 16 chats over 1, on both sides;
//   3. time to first token of a follow-up turn on a ~2,000-token conversation, with the sequence
//      that holds the history reused against after it was taken by another chat (target <= 0.3);
//   4. the server's RSS with 1, 4 and 16 sequences, per extra sequence, against the KV estimate.
// Every server and the direct engine are their own processes, using the same thread count.
// Rounds interleave direct and HTTP so drift on a shared machine hits both alike; ratios are
// medians over rounds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../src/providers/tiny-model/tiny-model.js';
import { startDirect } from './local-engine-direct.js';
import { closedLoop, loadPrompt, type LoadPlan, type LoadResult } from './local-engine-load.js';
import { measureFollowUp } from './local-engine-follow-up.js';
import {
  chat,
  startLocalAssistd,
  stopLocalServers,
  type LocalServer,
} from './local-engine-server.js';
import { cpuSeconds, median, root, rssMb } from './support.js';

const env = process.env;
const seconds = Number(env.BENCH_SECONDS ?? 5);
const rounds = Number(env.BENCH_ROUNDS ?? 5);
const threads = Number(env.BENCH_THREADS ?? 1);
const levels = (env.BENCH_LEVELS ?? '1,4,16').split(',').map(Number);
const maxTokens = Number(env.BENCH_MAX_TOKENS ?? 64);
const stream = env.BENCH_STREAM !== '0';
const repetitions = Number(env.BENCH_REPETITIONS ?? 5);
const historyTokens = Number(env.BENCH_HISTORY_TOKENS ?? 1900);
const nodeArgs = env.BENCH_NODE_ARGS ?? '';
const contextSize = 2048;
const maxBatchSize = Math.max(...levels);
const sampling = { temperature: 0.8, seed: 42 };

/** The 1-minute load average: how busy the shared machine was (other processes included). */
function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** The HTTP side of one run: the same closed loop and prompts as the direct side. */
function httpRun(server: LocalServer, plan: LoadPlan): Promise<LoadResult> {
  return closedLoop(plan, async (client, turn) => {
    const answer = await chat(server, [{ role: 'user', content: loadPrompt(client, turn) }], {
      maxTokens: plan.maxTokens,
      ...sampling,
      stream,
    });
    return answer.completionTokens;
  });
}

interface Measured extends LoadResult {
  /** CPU milliseconds per generated token: the engine's process, and this one (the clients). */
  engineCpuMsPerToken: number;
  benchCpuMsPerToken: number;
}

/** Runs one side's load and adds what CPU the engine's process and this one spent on it. */
async function measured(pid: number, run: () => Promise<LoadResult>): Promise<Measured> {
  const engineBefore = cpuSeconds(pid);
  const benchBefore = process.cpuUsage();
  const result = await run();
  const bench = process.cpuUsage(benchBefore);
  return {
    ...result,
    engineCpuMsPerToken: ((cpuSeconds(pid) - engineBefore) * 1000) / result.tokens,
    benchCpuMsPerToken: (bench.user + bench.system) / 1000 / result.tokens,
  };
}

/** RSS once the server has answered one short chat (so its buffers have been used). */
async function rssAfterOneChat(server: LocalServer): Promise<number> {
  await chat(server, [{ role: 'user', content: 'Hello there.' }], {
    maxTokens: 16,
    ...sampling,
    stream: true,
  });
  return rssMb(server.pid);
}

const dir = mkdtempSync(join(tmpdir(), 'assistd-local-bench-model-'));

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadAverage();
  const modelPath = join(dir, 'bench-random-512x8.gguf');
  const model = await writeTinyModel(modelPath, {
    mode: 'random',
    type: 'q8_0',
    embeddingLength: 512,
    blockCount: 8,
    feedForwardLength: 1408,
  });
  // The server's own estimate: `assistd models inspect --json`.
  const estimate = (
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          join(root, 'dist/main.js'),
          'models',
          'inspect',
          modelPath,
          '--max-batch-size',
          String(maxBatchSize),
          '--context-size',
          String(contextSize),
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      ).toString(),
    ) as { memory: { kvBytesPerSequence: number; totalBytes: number } }
  ).memory;

  console.log(
    `local engine benchmark: random ${model.embeddingLength}×${model.blockCount} Q8_0 model ` +
      `(${(model.parameters / 1e6).toFixed(1)}M parameters, ${(model.bytes / 2 ** 20).toFixed(1)} MiB), ` +
      `${threads} thread(s), context ${contextSize}, ${maxTokens} tokens per answer, ` +
      `${stream ? 'streaming' : 'non-streaming'} HTTP, ${seconds} s per run, ${rounds} rounds, ` +
      `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
  );

  // Loading in parallel: start-up is not measured.
  const serverOptions = { modelPath, contextSize, threads, nodeArgs };
  const memoryBatches = [...new Set([1, 4, maxBatchSize])].sort((x, y) => x - y);
  const [direct, ...servers] = await Promise.all([
    startDirect({ modelPath, sequences: maxBatchSize, contextSize, threads }),
    ...memoryBatches.map((batch) => startLocalAssistd({ ...serverOptions, maxBatchSize: batch })),
  ]);
  const serverOf = (batch: number) => servers[memoryBatches.indexOf(batch)]!;
  const batched = serverOf(maxBatchSize);

  // 4. Memory per sequence.
  const rss: Record<number, number> = {};
  for (const batch of memoryBatches) rss[batch] = await rssAfterOneChat(serverOf(batch));
  const perSequenceMb =
    maxBatchSize > 1 ? (rss[maxBatchSize]! - rss[1]!) / (maxBatchSize - 1) : Number.NaN;
  for (const batch of memoryBatches) {
    if (batch !== 1 && batch !== maxBatchSize) await serverOf(batch).stop();
  }
  console.log(
    `server RSS after one chat: ${memoryBatches.map((batch) => `${batch} seq ${rss[batch]!.toFixed(0)} MiB`).join(', ')}; ` +
      `${perSequenceMb.toFixed(1)} MiB per extra sequence (KV estimate ${(estimate.kvBytesPerSequence / 2 ** 20).toFixed(1)} MiB); ` +
      `direct engine (${maxBatchSize} seq) ${direct.rssMb.toFixed(0)} MiB`,
  );

  // 1 and 2. Throughput. Warm-up (JIT, first decodes): one request per client, not measured.
  const plan = (concurrency: number, runSeconds = seconds): LoadPlan => ({
    concurrency,
    seconds: runSeconds,
    maxTokens,
    ...sampling,
  });
  await direct.run(plan(maxBatchSize, 0));
  await httpRun(batched, plan(maxBatchSize, 0));
  const results: Record<'direct' | 'http', Record<number, Measured[]>> = { direct: {}, http: {} };
  for (let round = 1; round <= rounds; round++) {
    for (const level of levels) {
      // Direct first in odd rounds, HTTP first in even ones: a burst of load from another
      // process hits neither side systematically.
      const order = round % 2 === 1 ? (['direct', 'http'] as const) : (['http', 'direct'] as const);
      for (const side of order) {
        const result =
          side === 'direct'
            ? await measured(direct.pid, () => direct.run(plan(level)))
            : await measured(batched.pid, () => httpRun(batched, plan(level)));
        (results[side][level] ??= []).push(result);
        console.log(
          `round ${round}  ${String(level).padStart(2)} chats  ${side.padEnd(6)} ` +
            `${result.tokensPerSecond.toFixed(0).padStart(5)} tokens/s  ` +
            `(${result.tokens} tokens, ${result.requests} requests, ${result.seconds.toFixed(1)} s; ` +
            `CPU ms/token: ${side === 'direct' ? 'engine' : 'server'} ${result.engineCpuMsPerToken.toFixed(2)}, ` +
            `bench ${result.benchCpuMsPerToken.toFixed(2)})`,
        );
      }
    }
  }
  direct.stop();
  const throughput = Object.fromEntries(
    levels.map((level) => {
      const directRuns = results.direct[level]!;
      const httpRuns = results.http[level]!;
      const ratios = httpRuns.map(
        (run, index) => run.tokensPerSecond / directRuns[index]!.tokensPerSecond,
      );
      const cpu = {
        direct_engine: median(directRuns.map((run) => run.engineCpuMsPerToken)),
        http_server: median(httpRuns.map((run) => run.engineCpuMsPerToken)),
        http_clients: median(httpRuns.map((run) => run.benchCpuMsPerToken)),
      };
      return [
        level,
        {
          direct_tokens_per_s: median(directRuns.map((run) => run.tokensPerSecond)),
          http_tokens_per_s: median(httpRuns.map((run) => run.tokensPerSecond)),
          ratio_http_over_direct: median(ratios),
          ratio_range: [Math.min(...ratios), Math.max(...ratios)],
          // CPU time does not depend on how much of the machine other processes take, so this
          // cross-checks the wall-clock ratio on a busy machine: the direct engine's CPU per
          // token over the server's (the clients' CPU is left out; it is the load generator's).
          cpu_ratio_direct_over_server: cpu.direct_engine / cpu.http_server,
          cpu_ms_per_token: cpu,
        },
      ];
    }),
  );
  // Per round (its levels run less than a minute apart), then the median over rounds.
  const gain = (side: 'direct' | 'http') => {
    const lowest = results[side][levels[0]!]!;
    const highest = results[side][levels.at(-1)!]!;
    return median(
      highest.map((run, index) => run.tokensPerSecond / lowest[index]!.tokensPerSecond),
    );
  };
  const batchingGain = { direct: gain('direct'), http: gain('http') };

  // 3. Follow-up turn on a long conversation.
  const followUp = await measureFollowUp({
    single: serverOf(1),
    batched,
    repetitions,
    historyTokens,
    sampling,
    log: (line) => console.log(line),
  });

  const summary = {
    model: {
      parameters: model.parameters,
      bytes: model.bytes,
      embedding_length: model.embeddingLength,
      block_count: model.blockCount,
      feed_forward_length: 1408,
      type: 'q8_0',
    },
    threads,
    context_size: contextSize,
    max_tokens: maxTokens,
    stream,
    seconds,
    rounds,
    throughput,
    batching_gain: { levels: [levels[0], levels.at(-1)], ...batchingGain },
    follow_up: followUp,
    memory: {
      rss_mib: rss,
      mib_per_extra_sequence: perSequenceMb,
      kv_estimate_mib_per_sequence: estimate.kvBytesPerSequence / 2 ** 20,
      direct_engine_rss_mib: direct.rssMb,
    },
    run_seconds: (performance.now() - started) / 1000,
    load_average: { start: loadAtStart, end: loadAverage() },
  };

  console.log('');
  for (const level of levels) {
    const entry = throughput[level]!;
    console.log(
      `${String(level).padStart(2)} chats: direct ${entry.direct_tokens_per_s.toFixed(0)} tokens/s, ` +
        `HTTP ${entry.http_tokens_per_s.toFixed(0)} tokens/s, HTTP/direct ${entry.ratio_http_over_direct.toFixed(2)}  (target >= 0.90; ` +
        `rounds ${entry.ratio_range.map((ratio) => ratio.toFixed(2)).join('–')}); CPU ms/token direct ` +
        `${entry.cpu_ms_per_token.direct_engine.toFixed(2)}, server ${entry.cpu_ms_per_token.http_server.toFixed(2)} ` +
        `(+ clients ${entry.cpu_ms_per_token.http_clients.toFixed(2)})`,
    );
  }
  console.log(
    `batching gain ${levels.at(-1)} chats / ${levels[0]}: direct ${batchingGain.direct.toFixed(2)}×, HTTP ${batchingGain.http.toFixed(2)}×`,
  );
  console.log(
    `follow-up TTFT (${followUp.history_tokens}-token history, ${followUp.prompt_tokens}-token prompt): with reuse ${followUp.with_reuse.ttft_ms.toFixed(0)} ms ` +
      `(cached ${followUp.with_reuse.cached_tokens}), without ${followUp.without_reuse.ttft_ms.toFixed(0)} ms ` +
      `(cached ${followUp.without_reuse.cached_tokens}), ratio ${followUp.ratio.toFixed(2)}  (target <= 0.30); ` +
      `with reuse on the ${maxBatchSize}-sequence server ${followUp.with_reuse_batched.ttft_ms.toFixed(0)} ms ` +
      `(cached ${followUp.with_reuse_batched.cached_tokens})`,
  );
  console.log(
    `memory: ${perSequenceMb.toFixed(1)} MiB RSS per extra sequence, KV estimate ` +
      `${summary.memory.kv_estimate_mib_per_sequence.toFixed(1)} MiB (2 × layers × kv heads × head dim × 2 bytes × ${contextSize})`,
  );
  console.log(
    `run time ${summary.run_seconds.toFixed(0)} s; load average ${loadAtStart.toFixed(1)} at the start, ` +
      `${summary.load_average.end.toFixed(1)} at the end (${cpus().length} CPUs)`,
  );
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    join(root, 'bench/results/local-engine.json'),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await stopLocalServers();
  rmSync(dir, { recursive: true, force: true });
}
