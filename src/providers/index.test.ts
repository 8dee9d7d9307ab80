import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../../test/support/fake-upstream.js';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { AppError } from '../errors.js';
import { buildModels, StartupError } from './index.js';
import type { LlamaCppModel } from './llama-cpp/model.js';
import { writeTinyModel } from './tiny-model/tiny-model.js';

let upstream: FakeUpstream;
const modelDir = join(mkdtempSync(join(tmpdir(), 'assistd-models-')), 'llama3-7b.gguf');
const logger = pino({ level: 'silent' });
const build = (config: ConfigInput) => buildModels({ config: configSchema.parse(config), logger });

beforeAll(async () => {
  upstream = await FakeUpstream.start();
  mkdirSync(join(modelDir, '..'), { recursive: true });
  await writeTinyModel(modelDir);
});
afterAll(async () => {
  await upstream.close();
});

describe('building the model registry', () => {
  it('asks the endpoint for its first model when none is configured', async () => {
    const models = await build({ model_endpoint: upstream.url, api_key: 'k' });
    expect(models.list().map((m) => m.id)).toEqual(['gpt-4o-mini']);
    expect(models.defaultId).toBe('gpt-4o-mini');
    await models.close();
  });

  it('fails to start, with a hint, when the endpoint cannot be asked', async () => {
    const promise = build({ model_endpoint: 'http://127.0.0.1:9', upstream: { max_retries: 0 } });
    await expect(promise).rejects.toThrow(StartupError);
    await expect(
      build({ model_endpoint: 'http://127.0.0.1:9', upstream: { max_retries: 0 } }),
    ).rejects.toThrow(/set upstream.model/);
  });

  it('lets default_model pick the local model, which is not ready until it has loaded', async () => {
    const models = await build({
      model_endpoint: upstream.url,
      model_path: modelDir,
      upstream: { model: 'remote', accepts_images: true },
      default_model: 'llama3-7b',
    });
    expect(models.defaultId).toBe('llama3-7b');
    // Images are the endpoint's declaration; the local llama.cpp model takes text only.
    expect(models.list().map((model) => [model.id, model.images])).toEqual([
      ['remote', true],
      ['llama3-7b', false],
    ]);
    const local = models.resolve(undefined) as LlamaCppModel;
    const signal = new AbortController().signal;
    expect(await models.check(signal)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('loading'),
    });
    expect(() => local.countTokens('hello')).toThrow(AppError);
    await local.whenLoaded();
    expect(await models.check(signal)).toEqual({ ok: true });
    expect(models.resolve('remote').id).toBe('remote');
    await models.close();
  });

  it('refuses a model that needs more memory than the limit, saying how much', async () => {
    await expect(
      build({ model_path: modelDir, local_model: { memory_limit_mb: 1, max_batch_size: 64 } }),
    ).rejects.toThrow(/needs about \d+ MiB .* more than the memory limit of 1 MiB; lower/);
  });

  it.each([
    [{ model_path: '/opt/models/missing' }, /\/opt\/models\/missing does not exist/],
    [
      { model_endpoint: 'http://127.0.0.1:9', upstream: { model: 'a' }, default_model: 'b' },
      /default_model "b" is not a configured model \(configured: a\)/,
    ],
  ] as const)('refuses to start with %j', async (config, message) => {
    await expect(build(config as ConfigInput)).rejects.toThrow(message);
  });

  it('refuses two models with the same id', async () => {
    await expect(
      build({
        model_endpoint: upstream.url,
        model_path: modelDir,
        upstream: { model: 'llama3-7b' },
      }),
    ).rejects.toThrow(/both called "llama3-7b"/);
  });
});
