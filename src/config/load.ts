import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from '../util/zod.js';
import { configSchema, type Config } from './schema.js';

/** A configuration problem the operator must fix; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Values given on the command line; absent means "not given", so lower layers show through. */
export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  logLevel?: string;
  logFile?: string;
  modelPath?: string;
  modelEndpoint?: string;
  apiKey?: string;
  apiKeyFile?: string;
  databaseUrl?: string;
  redisUrl?: string;
  defaultModel?: string;
  upstreamModel?: string;
  maxBatchSize?: string;
  contextSize?: string;
  threads?: string;
  policies?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** A boolean flag: present means true. */
  tlsTerminatedByProxy?: boolean;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  /** The process environment; this module is the only reader of it. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths on the command line and in env are resolved against. */
  cwd?: string;
  /** Read `api_key_file` (default true); offline commands that never call the model skip it. */
  readSecrets?: boolean;
}

type Layer = Record<string, unknown>;

/**
 * Environment variables and the config keys they set. `MODEL_ENDPOINT`, `API_KEY` and
 * `API_KEY_FILE` are the names the deployment runbook uses; the rest carry the `ASSISTD_` prefix.
 */
const envKeys: ReadonlyArray<readonly [string, string]> = [
  ['ASSISTD_HOST', 'host'],
  ['ASSISTD_PORT', 'port'],
  ['ASSISTD_DATA_DIR', 'data_dir'],
  ['ASSISTD_LOG_LEVEL', 'log_level'],
  ['ASSISTD_LOG_FILE', 'log_file'],
  ['ASSISTD_DEFAULT_MODEL', 'default_model'],
  ['ASSISTD_MODEL_PATH', 'model_path'],
  ['ASSISTD_UPSTREAM_MODEL', 'upstream.model'],
  ['ASSISTD_MAX_BATCH_SIZE', 'local_model.max_batch_size'],
  ['ASSISTD_CONTEXT_SIZE', 'local_model.context_size'],
  ['ASSISTD_THREADS', 'local_model.threads'],
  ['ASSISTD_MASTER_KEY_FILE', 'security.master_key_file'],
  ['ASSISTD_POLICIES_FILE', 'security.policies_file'],
  ['ASSISTD_TLS_CERT_FILE', 'tls.cert_file'],
  ['ASSISTD_TLS_KEY_FILE', 'tls.key_file'],
  ['ASSISTD_TLS_TERMINATED_BY_PROXY', 'tls.terminated_by_proxy'],
  ['ASSISTD_AUDIT_ENABLED', 'audit.enabled'],
  ['ASSISTD_LOG_SHIPPING', 'log_shipping.enabled'],
  ['ASSISTD_DATABASE_URL', 'database.url'],
  ['ASSISTD_DATABASE_PASSWORD_FILE', 'database.password_file'],
  ['ASSISTD_DATABASE_SCHEMA', 'database.schema'],
  ['ASSISTD_REDIS_URL', 'redis.url'],
  ['ASSISTD_REDIS_PASSWORD_FILE', 'redis.password_file'],
  ['ASSISTD_REDIS_KEY_PREFIX', 'redis.key_prefix'],
  ['MODEL_ENDPOINT', 'model_endpoint'],
  ['API_KEY', 'api_key'],
  ['API_KEY_FILE', 'api_key_file'],
];

const flagKeys: ReadonlyArray<readonly [keyof ConfigFlags, string]> = [
  ['host', 'host'],
  ['port', 'port'],
  ['dataDir', 'data_dir'],
  ['logLevel', 'log_level'],
  ['logFile', 'log_file'],
  ['defaultModel', 'default_model'],
  ['modelPath', 'model_path'],
  ['upstreamModel', 'upstream.model'],
  ['maxBatchSize', 'local_model.max_batch_size'],
  ['contextSize', 'local_model.context_size'],
  ['threads', 'local_model.threads'],
  ['policies', 'security.policies_file'],
  ['tlsCert', 'tls.cert_file'],
  ['tlsKey', 'tls.key_file'],
  ['tlsTerminatedByProxy', 'tls.terminated_by_proxy'],
  ['databaseUrl', 'database.url'],
  ['redisUrl', 'redis.url'],
  ['modelEndpoint', 'model_endpoint'],
  ['apiKey', 'api_key'],
  ['apiKeyFile', 'api_key_file'],
];

/**
 * Loads the configuration: defaults < config file (YAML) < environment < flags.
 * Reads the API key file, resolves paths and returns a deep-frozen object.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? {};
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();

  const configPath = flags.config ?? nonEmpty(env.ASSISTD_CONFIG);
  const layers: Layer[] = [];
  if (configPath !== undefined) layers.push(readConfigFile(resolve(cwd, configPath)));
  layers.push(layerFrom(envKeys.map(([name, key]) => [key, nonEmpty(env[name])])));
  layers.push(layerFrom(flagKeys.map(([name, key]) => [key, flags[name]])));

  const merged: Layer = {};
  for (const layer of layers) mergeLayer(merged, layer);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const where = configPath === undefined ? '' : ` (config file ${configPath})`;
    throw new ConfigError(`invalid configuration${where}:\n${z.prettifyError(parsed.error)}`);
  }
  const config = parsed.data;
  config.data_dir = resolve(cwd, config.data_dir);
  if (config.model_path !== undefined) config.model_path = resolve(cwd, config.model_path);
  if (config.api_key_file !== undefined) config.api_key_file = resolve(cwd, config.api_key_file);
  if (config.log_file !== undefined) config.log_file = resolve(cwd, config.log_file);
  if (config.security.master_key_file !== undefined) {
    config.security.master_key_file = resolve(cwd, config.security.master_key_file);
  }
  if (config.security.policies_file !== undefined) {
    config.security.policies_file = resolve(cwd, config.security.policies_file);
  }
  if (config.tls.cert_file !== undefined) config.tls.cert_file = resolve(cwd, config.tls.cert_file);
  if (config.tls.key_file !== undefined) config.tls.key_file = resolve(cwd, config.tls.key_file);
  if (config.database.password_file !== undefined) {
    config.database.password_file = resolve(cwd, config.database.password_file);
  }
  if (config.object_store.folder !== undefined) {
    config.object_store.folder = resolve(cwd, config.object_store.folder);
  }
  if (config.object_store.s3?.secret_access_key_file !== undefined) {
    config.object_store.s3.secret_access_key_file = resolve(
      cwd,
      config.object_store.s3.secret_access_key_file,
    );
  }
  if (config.backup.models_folder !== undefined) {
    config.backup.models_folder = resolve(cwd, config.backup.models_folder);
  }
  if (config.redis.password_file !== undefined) {
    config.redis.password_file = resolve(cwd, config.redis.password_file);
  }
  if (
    options.readSecrets !== false &&
    config.api_key === undefined &&
    config.api_key_file !== undefined
  ) {
    config.api_key = readSecretFile(config.api_key_file, 'api_key_file');
  }
  return deepFreeze(config);
}

function readConfigFile(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${describeFsError(error)}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  }
  return value as Layer;
}

/** A secret kept in a file (a mounted Kubernetes secret): its text without surrounding space. */
export function readSecretFile(path: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${key} ${path}: ${describeFsError(error)}`);
  }
  const secret = text.trim();
  if (secret === '') throw new ConfigError(`${key} ${path} is empty`);
  return secret;
}

const numericKeys = new Set([
  'port',
  'local_model.max_batch_size',
  'local_model.context_size',
  'local_model.threads',
]);

/** Switches that env gives as text (`true`/`false`, `1`/`0`); anything else fails validation. */
const booleanKeys = new Set(['tls.terminated_by_proxy', 'audit.enabled', 'log_shipping.enabled']);

/**
 * Builds a nested layer from dotted keys; numeric and boolean settings given as text become
 * numbers and booleans.
 */
function layerFrom(entries: ReadonlyArray<readonly [string, string | boolean | undefined]>): Layer {
  const layer: Layer = {};
  for (const [key, raw] of entries) {
    if (raw === undefined) continue;
    const value = typeof raw === 'string' ? fromText(key, raw) : raw;
    const parts = key.split('.');
    let target = layer;
    for (const part of parts.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Layer;
    }
    target[parts.at(-1)!] = value;
  }
  return layer;
}

/**
 * Merges `source` into `target`. The API key and its file are one setting: a layer that sets
 * either replaces both from lower layers, so `--api-key-file` overrides an `API_KEY` from env.
 */
function mergeLayer(target: Layer, source: Layer): void {
  if ('api_key' in source || 'api_key_file' in source) {
    delete target.api_key;
    delete target.api_key_file;
  }
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) {
      mergeLayer(existing, value);
    } else {
      target[key] = isPlainObject(value) ? structuredClone(value) : value;
    }
  }
}

function fromText(key: string, raw: string): unknown {
  if (numericKeys.has(key)) {
    // A number, for the schema to judge ("-5" is too small, "1.5" not whole): never "expected
    // number, received string", which reads as if no number had been given.
    if (/^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw);
    throw new ConfigError(`${key} must be a number, not "${raw.slice(0, 40)}"`);
  }
  if (booleanKeys.has(key) && /^(true|1)$/i.test(raw)) return true;
  if (booleanKeys.has(key) && /^(false|0)$/i.test(raw)) return false;
  return raw;
}

function isPlainObject(value: unknown): value is Layer {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? String(error);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
