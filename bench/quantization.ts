// Quantization benchmark (deployment guide, tuning). One command: `npm run bench:quant`.
//
// The same random-weight model (512 dims, 8 layers, FF 1408, one seed) written with its 2-D
// weights as F32, F16 and Q8_0 (INT8), each run by node-llama-cpp directly in a child process
// (bench/local-engine-direct.ts: one sequence, context 2048, the server's default thread count on
// this machine), and measured side by side in one run: file size, RSS once loaded, and generated
// tokens/s of one chat. Rounds interleave the three so drift hits them alike; ratios are medians
// over rounds. Random weights: nothing here says anything about answer quality, which
// quantization can cost and this benchmark cannot measure.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel, type TinyModelType } from '../src/providers/tiny-model/tiny-model.js';
import { startDirect, type DirectEngine } from './local-engine-direct.js';
import type { LoadPlan } from './local-engine-load.js';
import { median } from './support.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const threads = Number(process.env.BENCH_THREADS ?? Math.max(1, Math.floor(cpus().length / 2)));
const types: TinyModelType[] = ['f32', 'f16', 'q8_0'];
const dir = mkdtempSync(join(tmpdir(), 'assistd-quant-bench-'));

async function main(): Promise<void> {
  const engines = new Map<TinyModelType, DirectEngine>();
  const sizes = new Map<TinyModelType, number>();
  try {
    for (const type of types) {
      const path = join(dir, `random-512x8-${type}.gguf`);
      const written = await writeTinyModel(path, {
        mode: 'random',
        type,
        embeddingLength: 512,
        blockCount: 8,
        feedForwardLength: 1408,
        seed: 7,
      });
      sizes.set(type, written.bytes);
      engines.set(
        type,
        await startDirect({ modelPath: path, sequences: 1, contextSize: 2048, threads }),
      );
    }
    console.log(
      `quantization benchmark: 512×8 random model, ${threads} thread(s), 1 chat, 64 tokens per ` +
        `answer, ${seconds} s per run, ${rounds} rounds, node ${process.version}, ` +
        `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
    );
    const plan: LoadPlan = { concurrency: 1, seconds, maxTokens: 64, temperature: 0.8, seed: 42 };
    for (const engine of engines.values()) await engine.run({ ...plan, seconds: 1 }); // warm-up
    const rates = new Map<TinyModelType, number[]>(types.map((type) => [type, []]));
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? types : [...types].reverse();
      for (const type of order) {
        const result = await engines.get(type)!.run(plan);
        rates.get(type)!.push(result.tokensPerSecond);
        console.log(
          `round ${round}  ${type.padEnd(5)} ${result.tokensPerSecond.toFixed(0).padStart(6)} tok/s`,
        );
      }
    }
    const ratio = (x: TinyModelType, y: TinyModelType) =>
      median(rates.get(x)!.map((rate, index) => rate / rates.get(y)![index]!));
    console.log('');
    console.log('type   file MiB   RSS MiB   tok/s (median)');
    for (const type of types) {
      console.log(
        `${type.padEnd(6)} ${(sizes.get(type)! / 2 ** 20).toFixed(1).padStart(8)}  ` +
          `${engines.get(type)!.rssMb.toFixed(0).padStart(8)}  ${median(rates.get(type)!).toFixed(0).padStart(8)}`,
      );
    }
    console.log(
      `Q8_0 over F16: file ${(sizes.get('q8_0')! / sizes.get('f16')!).toFixed(2)}, ` +
        `RSS ${(engines.get('q8_0')!.rssMb / engines.get('f16')!.rssMb).toFixed(2)}, ` +
        `tokens/s ${ratio('q8_0', 'f16').toFixed(2)}`,
    );
    console.log(
      `Q8_0 over F32: file ${(sizes.get('q8_0')! / sizes.get('f32')!).toFixed(2)}, ` +
        `RSS ${(engines.get('q8_0')!.rssMb / engines.get('f32')!.rssMb).toFixed(2)}, ` +
        `tokens/s ${ratio('q8_0', 'f32').toFixed(2)}`,
    );
  } finally {
    for (const engine of engines.values()) engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
