import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import { discoverModelName, OpenAICompatibleModel } from './openai-compatible/model.js';
import type { EndpointOptions } from './openai-compatible/http.js';
import { withRetries } from './retry.js';
import { ModelRegistry, type UnavailableModel } from './registry.js';
import type { ChatModel } from './types.js';

export { ModelRegistry } from './registry.js';

/** A problem that stops the server from starting; the CLI prints it and exits with code 2. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface BuildModelsOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Replaces the endpoint's connection pool (tests). */
  dispatcher?: Dispatcher;
  random?: () => number;
  signal?: AbortSignal;
}

/**
 * Builds the model registry from the configuration: the endpoint model, the local model path,
 * and which of them is the default (`default_model`, else the endpoint's, else the local one).
 */
export async function buildModels(options: BuildModelsOptions): Promise<ModelRegistry> {
  const { config, logger } = options;
  const models: ChatModel[] = [];
  const unavailable: UnavailableModel[] = [];

  if (config.model_endpoint !== undefined) {
    models.push(await buildEndpointModel(options, config.model_endpoint));
  }
  if (config.model_path !== undefined) {
    unavailable.push(await localModelEntry(config.model_path));
  }
  const ids = [...models.map((model) => model.id), ...unavailable.map((entry) => entry.id)];
  if (new Set(ids).size !== ids.length) {
    throw new StartupError(
      `the local model and the endpoint model are both called "${ids[0]}"; set upstream.model to tell them apart`,
    );
  }
  const defaultId = config.default_model ?? models[0]?.id ?? unavailable[0]?.id;
  if (config.default_model !== undefined && !ids.includes(config.default_model)) {
    throw new StartupError(
      `default_model "${config.default_model}" is not a configured model (configured: ${ids.join(', ') || 'none'})`,
    );
  }
  for (const entry of unavailable) logger.warn({ model: entry.id }, entry.reason);
  if (defaultId === undefined) {
    logger.warn('no model is configured: chat endpoints answer 503 model_not_configured');
  }
  return new ModelRegistry(models, unavailable, defaultId);
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
    capabilities: { images: upstream.accepts_images, contextWindow: upstream.context_window },
    retry,
    logger,
  });
}

/** The local model path must exist; running it is the local engine's job, not built yet. */
async function localModelEntry(path: string): Promise<UnavailableModel> {
  try {
    await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === 'ENOENT'
        ? `model path ${path} does not exist`
        : `model path ${path} cannot be read (${code ?? String(error)})`,
    );
  }
  return {
    id: basename(path).replace(/\.gguf$/i, ''),
    provider: 'llama-cpp',
    reason:
      `running local GGUF models (model_path ${path}) is not available in this version of assistd; ` +
      'serve through model_endpoint instead',
  };
}
