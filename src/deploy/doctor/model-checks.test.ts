import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../../config/schema.js';
import { inspectModelFile } from '../../providers/llama-cpp/model-file.js';
import { writeTinyModel } from '../../providers/tiny-model/tiny-model.js';
import type { MemoryBudget } from './memory.js';
import { modelChecks } from './model-checks.js';
import { runChecks } from './runner.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-doctor-model-'));
const modelFolder = join(folder, 'tiny');
const model = join(modelFolder, 'tiny.gguf');
beforeAll(async () => {
  mkdirSync(modelFolder);
  await writeTinyModel(model);
}, 30_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const gib = 2 ** 30;
const roomy: MemoryBudget = {
  totalBytes: 64 * gib,
  freeBytes: 32 * gib,
  cgroupLimitBytes: undefined,
  limitBytes: 64 * gib,
};

function check(input: ConfigInput, budget: MemoryBudget = roomy) {
  return runChecks(modelChecks(configSchema.parse(input), async () => budget));
}

describe('model checks', () => {
  it('passes the tiny GGUF model, given as a file or as its folder', async () => {
    for (const path of [model, modelFolder]) {
      const [file, memory] = await check({ model_path: path });
      expect(file).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('GGUF v3, llama'),
      });
      expect(memory).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('16 sequences'),
      });
    }
  });

  it('fails a file that is not GGUF, and skips the memory estimate', async () => {
    const path = join(folder, 'not-a-model.gguf');
    writeFileSync(path, 'PK\u0003\u0004 a zip file, not a model');
    const [file, memory] = await check({ model_path: path });
    expect(file).toMatchObject({ status: 'fail', detail: expect.stringContaining('not "GGUF"') });
    expect(memory!.status).toBe('skip');
  });

  it('warns above 80 % of the memory limit and fails above it (cgroup included)', async () => {
    // The same estimate the check makes: 16 sequences of 4096 tokens by default.
    const report = await inspectModelFile(model, { maxBatchSize: 16, contextSize: 4096 });
    const bytesNeeded = report.memory.totalBytes!;
    const tight = (limit: number): MemoryBudget => ({
      totalBytes: 64 * gib,
      freeBytes: 32 * gib,
      cgroupLimitBytes: limit,
      limitBytes: limit,
    });
    const [, warned] = await check({ model_path: model }, tight(Math.ceil(bytesNeeded / 0.9)));
    expect(warned).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('over 80 % of the cgroup limit'),
    });
    const [, failed] = await check({ model_path: model }, tight(Math.floor(bytesNeeded / 2)));
    expect(failed).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('more than the cgroup limit'),
    });
    const [, refused] = await check({ model_path: model, local_model: { memory_limit_mb: 1 } });
    expect(bytesNeeded).toBeGreaterThan(2 ** 20);
    expect(refused).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('refuse to start'),
    });
  });

  it('skips both without a model path', async () => {
    const results = await check({});
    expect(results.map((result) => result.status)).toEqual(['skip', 'skip']);
  });
});
