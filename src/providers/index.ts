import { mkdir } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import { discoverModelName, OpenAICompatibleModel } from './openai-compatible/model.js';
import type { EndpointOptions } from './openai-compatible/http.js';
import { LlamaCppModel } from './llama-cpp/model.js';
import { inspectModelFile, ModelFileError } from './llama-cpp/model-file.js';
import { withRetries } from './retry.js';
import { writeTinyModel } from './tiny-model/tiny-model.js';
import { ModelRegistry } from './registry.js';
import { StartupError } from './startup-error.js';
import type { ChatModel } from './types.js';

export { ModelRegistry } from './registry.js';

export { StartupError } from './startup-error.js';

export interface BuildModelsOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Replaces the endpoint's connection pool (tests). */
  dispatcher?: Dispatcher;
  random?: () => number;
  signal?: AbortSignal;
  /** Wraps each model before it is registered (the monitor measures them). */
  wrap?: (model: ChatModel) => ChatModel;
}

/**
 * Builds the model registry from the configuration: the endpoint model, the local model path,
 * and which of them is the default (`default_model`, else the endpoint's, else the local one).
 */
export async function buildModels(options: BuildModelsOptions): Promise<ModelRegistry> {
  const { config, logger } = options;
  const models: ChatModel[] = [];
  try {
    if (config.model_endpoint !== undefined) {
      models.push(await buildEndpointModel(options, config.model_endpoint));
    }
    if (config.model_path !== undefined) {
      models.push(await buildLocalModel(options, config.model_path));
    }
    if (models.length === 0 && config.local_model.demo) {
      models.push(await buildDemoModel(options));
    }
    const ids = models.map((model) => model.id);
    if (new Set(ids).size !== ids.length) {
      throw new StartupError(
        `the local model and the endpoint model are both called "${ids[0]}"; set upstream.model to tell them apart`,
      );
    }
    if (config.default_model !== undefined && !ids.includes(config.default_model)) {
      throw new StartupError(
        `default_model "${config.default_model}" is not a configured model (configured: ${ids.join(', ') || 'none'})`,
      );
    }
  } catch (error) {
    // A local model already loading in the background must not outlive a failed start.
    await Promise.all(models.map((model) => model.close()));
    throw error;
  }
  const defaultId = config.default_model ?? models[0]?.id;
  if (defaultId === undefined) {
    logger.warn('no model is configured: chat endpoints answer 503 model_not_configured');
  }
  const wrap = options.wrap ?? ((model: ChatModel) => model);
  return new ModelRegistry(models.map(wrap), defaultId);
}

async function buildEndpointModel(options: BuildModelsOptions, url: string) {
  const { config, logger } = options;
  const upstream = config.upstream;
  const endpointOptions: EndpointOptions = {
    url,
    apiKey: config.api_key,
    maxConnections: upstream.max_connections,
    connectTimeoutMs: upstream.connect_timeout_ms,
    firstByteTimeoutMs: upstream.first_byte_timeout_ms,
    idleTimeoutMs: upstream.idle_timeout_ms,
    allowHosts: upstream.allow_hosts,
    dispatcher: options.dispatcher,
  };
  const retry = {
    maxRetries: upstream.max_retries,
    baseDelayMs: upstream.retry_base_delay_ms,
    maxDelayMs: upstream.retry_max_delay_ms,
    random: options.random ?? Math.random,
  };
  if (config.api_key === undefined) {
    logger.warn('no API key is configured for the model endpoint (--api-key-file FILE sets one)');
  }
  let modelName = upstream.model;
  if (modelName === undefined) {
    const signal = options.signal ?? new AbortController().signal;
    try {
      modelName = await withRetries(
        () => discoverModelName(endpointOptions, signal),
        retry,
        signal,
      );
    } catch (error) {
      throw new StartupError(
        `cannot list the models of the model endpoint ${url} (${(error as Error).message}); ` +
          'set upstream.model (or ASSISTD_UPSTREAM_MODEL, --upstream-model) to start without asking',
      );
    }
    logger.info({ model: modelName }, 'using the first model the endpoint lists');
  }
  return new OpenAICompatibleModel({
    ...endpointOptions,
    modelName,
    capabilities: {
      images: upstream.accepts_images,
      tools: upstream.accepts_tools,
      jsonOutput: upstream.accepts_response_format,
      contextWindow: upstream.context_window,
    },
    totalTimeoutMs: upstream.total_timeout_ms,
    retry,
    logger,
  });
}

/** The local GGUF model: checked now (a bad file stops the start), loaded in the background. */
async function buildLocalModel(
  options: BuildModelsOptions,
  path: string,
  description?: string,
): Promise<LlamaCppModel> {
  const { config, logger } = options;
  const local = config.local_model;
  const report = await inspectModelFile(path, {
    maxBatchSize: local.max_batch_size,
    contextSize: local.context_size,
  });
  // Capped at the model's trained length (the report warns when it is, logged below).
  const contextSize = report.memory.contextSize;
  const limitBytes = (local.memory_limit_mb ?? Math.floor((totalmem() * 0.8) / 2 ** 20)) * 2 ** 20;
  const needed = report.memory.totalBytes;
  if (needed !== undefined && needed > limitBytes) {
    throw new StartupError(
      `model ${report.path} needs about ${mebibytes(needed)} MiB (weights ${mebibytes(report.memory.weightsBytes)} MiB ` +
        `+ KV cache ${mebibytes(report.memory.kvBytesPerSequence ?? 0)} MiB per sequence × ${local.max_batch_size} sequences), ` +
        `more than the memory limit of ${mebibytes(limitBytes)} MiB; lower local_model.max_batch_size or ` +
        'local_model.context_size, use a smaller quantization, or raise local_model.memory_limit_mb',
    );
  }
  for (const warning of report.warnings) logger.warn({ model: report.path }, warning);
  const threads = local.threads ?? Math.max(1, Math.floor(availableParallelism() / 2));
  logger.info(
    {
      path: report.path,
      architecture: report.architecture,
      parameters: report.parameters,
      memory_mib: needed === undefined ? undefined : mebibytes(needed),
      threads,
    },
    'loading the local model in the background; /ready answers 503 until it is loaded',
  );
  return new LlamaCppModel({
    id: localModelId(path, report.path),
    path: report.path,
    maxBatchSize: local.max_batch_size,
    contextSize,
    threads,
    gpu: local.gpu,
    maxQueue: local.queue_max,
    queueTimeoutMs: local.queue_timeout_ms,
    affinityTtlMs: config.context_cache.ttl_seconds * 1000,
    defaultMaxTokens: config.dialog.default_max_tokens,
    defaultTemperature: local.default_temperature,
    description,
    logger,
  });
}

/**
 * A model folder is named after the model (`/opt/models/llama3-7b` → `llama3-7b`); a file gives
 * its name without `.gguf`.
 */
function localModelId(configured: string, file: string): string {
  const folderGiven = resolve(configured) !== resolve(file);
  return folderGiven ? basename(resolve(configured)) : basename(file).replace(/\.gguf$/i, '');
}

/** Id of the demo model served when no model is configured. */
export const demoModelId = 'assistd-demo';

const demoDescription =
  'Demo model: a tiny generated model whose answers are canned. Configure a real model with ' +
  '--model-path FILE.gguf (or model_path) or --model-endpoint URL (or MODEL_ENDPOINT).';

/**
 * The demo model, written into the data dir on first start (about 0.1 s, no network), so the
 * service runs end to end with no configuration at all.
 */
async function buildDemoModel(options: BuildModelsOptions): Promise<LlamaCppModel> {
  const dir = join(options.config.data_dir, 'models');
  const path = join(dir, `${demoModelId}.gguf`);
  await mkdir(dir, { recursive: true });
  options.logger.warn(
    { model: demoModelId, path },
    'no model is configured: serving the demo model, whose answers are canned. ' +
      'Configure a real model with --model-path FILE.gguf or --model-endpoint URL.',
  );
  try {
    return await buildLocalModel(options, path, demoDescription);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    // Not written yet (first start) or damaged: write it and check it like any model.
    await writeTinyModel(path, { mode: 'scripted', script: demoScript });
    return buildLocalModel(options, path, demoDescription);
  }
}

/** The demo's answer: it says what it is and how to configure a real model. */
export const demoScript =
  'This is the assistd demo model: its answers are canned, whatever you ask. To chat with a real ' +
  'model, start assistd with --model-path /path/to/model.gguf or --model-endpoint URL.';

function mebibytes(bytes: number): number {
  return Math.ceil(bytes / 2 ** 20);
}
