import { createHash } from 'node:crypto';
import type { IConfigMap } from 'kubernetes-models/v1';
import { stringify } from 'yaml';
import { configSchema } from '../../config/schema.js';
import { parsePolicyText, PolicyFileError } from '../../security/policy/document.js';
import { metadata, objectName } from './labels.js';
import { formatIssues, ValuesError } from './load-values.js';
import { configEnv, paths } from './pod-env.js';
import type { Values } from './values-schema.js';

type Tree = Record<string, unknown>;

/** The port of the scrape listener, on every address of the pod. */
export function metricsListen(values: Values): string {
  return `0.0.0.0:${values.monitoring.metricsPort}`;
}

/**
 * The settings config.yaml gets from the values (the rest comes by env and flags). The server's
 * own backup schedule stays unset: the CronJob takes the backups.
 */
function renderedSettings(values: Values): Tree {
  const s3: Tree = {
    bucket: values.objectStore.bucket,
    prefix: values.objectStore.prefix,
    region: values.objectStore.region,
  };
  if (values.objectStore.endpoint !== undefined) s3.endpoint = values.objectStore.endpoint;
  if (values.objectStore.accessKeyId !== undefined)
    s3.access_key_id = values.objectStore.accessKeyId;
  if (values.secrets.objectStoreSecretKey !== null) {
    s3.secret_access_key_file = paths.objectStoreSecretKeyFile;
  }
  const settings: Tree = {
    shutdown_grace_seconds: values.server.drainSeconds,
    object_store: { s3 },
    backup: { models_folder: paths.modelsDir },
    log_shipping: { enabled: values.logShipping },
  };
  if (values.model.upstreamModel !== undefined) {
    settings.upstream = { model: values.model.upstreamModel };
  }
  if (values.monitoring.scrape === 'listener') {
    settings.metrics = { listen: metricsListen(values) };
  }
  return settings;
}

/** `host`, `port` and `tls` come from the container's flags. */
const keysSetByFlags = ['host', 'port', 'tls'];

/**
 * Merges the values' `config` under the rendered settings. A key both set is an error, not a
 * silent winner, and so is a key the pod sets by env or flag (env and flags override the file).
 */
function mergeConfig(extra: Tree, rendered: Tree, values: Values): Tree {
  const taken = [
    ...configKeysOf(rendered),
    ...keysSetByFlags,
    ...configEnv(values).map((e) => e.configKey),
  ];
  if (values.backup.enabled && values.models.mode === 'shared') taken.push('backup.schedule');
  const problems: string[] = [];
  for (const key of configKeysOf(extra)) {
    const clash = taken.find(
      (owned) => key === owned || key.startsWith(`${owned}.`) || owned.startsWith(`${key}.`),
    );
    if (clash !== undefined)
      problems.push(`  config.${key}: set by the renderer (${clash}); use the values that set it`);
  }
  if (problems.length > 0) throw new ValuesError(`invalid values:\n${problems.join('\n')}`);
  return deepMerge(structuredClone(extra), rendered);
}

function configKeysOf(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    isTree(value) && Object.keys(value).length > 0
      ? configKeysOf(value, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

function deepMerge(target: Tree, source: Tree): Tree {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    target[key] = isTree(value) && isTree(existing) ? deepMerge(existing, value) : value;
  }
  return target;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * config.yaml as the pods read it, checked against the server's config schema together with the
 * env the pods set, so a bad `config` value fails here rather than in a crash-looping pod.
 */
export function configYaml(values: Values): string {
  const config = mergeConfig(values.config, renderedSettings(values), values);
  const withEnv = structuredClone(config);
  for (const { configKey, value } of configEnv(values)) setPath(withEnv, configKey, value);
  const parsed = configSchema.safeParse(withEnv);
  if (!parsed.success) {
    throw new ValuesError(
      `invalid values (config.yaml):\n${formatIssues(parsed.error.issues).replace(/^ {2}/gm, '  config.')}`,
    );
  }
  return `# Rendered by assistd deploy render. Paths, addresses and secrets come by env (see the\n# Deployment); host, port and TLS by flags.\n${stringify(config, { lineWidth: 0 })}`;
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let target = tree;
  for (const part of parts.slice(0, -1)) {
    if (!isTree(target[part])) target[part] = {};
    target = target[part] as Tree;
  }
  target[parts.at(-1)!] = value;
}

/** The policy file, checked as the server checks it. */
function policiesYaml(values: Values): string | undefined {
  if (values.policies === undefined) return undefined;
  try {
    parsePolicyText(values.policies, 'values policies');
  } catch (error) {
    if (error instanceof PolicyFileError)
      throw new ValuesError(`invalid values (policies): ${error.message}`);
    throw error;
  }
  return values.policies;
}

/**
 * config.yaml, and policies.yaml when the values carry policies (otherwise the built-in policies
 * apply and no file is mounted). The ConfigMap is mounted as a folder, not by subPath: the server
 * watches the policy file's folder and sees the kubelet's `..data` swap when the ConfigMap
 * changes, so policies reload without a restart.
 */
export function configMap(values: Values): IConfigMap {
  const data: Record<string, string> = { 'config.yaml': configYaml(values) };
  const policies = policiesYaml(values);
  if (policies !== undefined) data['policies.yaml'] = policies;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(values, objectName(values, 'config'), 'config'),
    data,
  };
}

/**
 * A digest of config.yaml for the pod template's annotations: the server reads config.yaml once,
 * so a change must roll the pods. policies.yaml is left out, because it reloads in place.
 */
export function configDigest(map: IConfigMap): string {
  return createHash('sha256')
    .update(map.data?.['config.yaml'] ?? '')
    .digest('hex');
}
