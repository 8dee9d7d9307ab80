import type { IEnvVar } from 'kubernetes-models/v1';
import type { Values } from './values-schema.js';

/** Where things are inside the container. */
export const paths = {
  configDir: '/etc/assistd',
  configFile: '/etc/assistd/config.yaml',
  policiesFile: '/etc/assistd/policies.yaml',
  /** The projected Secret volume (read-only, group-readable). */
  secretsDir: '/secrets',
  apiKeyFile: '/secrets/api_key.txt',
  masterKeySecret: '/secrets/master.key',
  databasePasswordFile: '/secrets/database-password',
  redisPasswordFile: '/secrets/redis-password',
  objectStoreSecretKeyFile: '/secrets/object-store-secret-key',
  /** Memory-backed emptyDir holding the owner-only copy of the master key. */
  keysDir: '/run/assistd',
  masterKeyFile: '/run/assistd/master.key',
  /** The image's data dir (HOME of user 10001). */
  dataDir: '/var/lib/assistd',
  tmpDir: '/tmp',
  modelsDir: '/opt/models',
  logsMount: '/var/log',
  logsDir: '/var/log/assistd',
} as const;

/** The port the server listens on, in the container and on the Service. */
export const httpPort = 18789;

/** One environment variable and the config key it sets (see envKeys in config/load.ts). */
interface ConfigEnv {
  name: string;
  value: string;
  configKey: string;
}

/**
 * The settings given by environment rather than config.yaml: paths into the pod's volumes and
 * the addresses of the shared services, so config.yaml stays the same whatever the volumes.
 * `jobs` leaves out the log file: backup and restore runs log to stdout.
 */
export function configEnv(values: Values, options: { jobs?: boolean } = {}): ConfigEnv[] {
  const env: ConfigEnv[] = [
    { name: 'ASSISTD_DATA_DIR', value: paths.dataDir, configKey: 'data_dir' },
    { name: 'ASSISTD_LOG_LEVEL', value: values.server.logLevel, configKey: 'log_level' },
    {
      name: 'ASSISTD_MASTER_KEY_FILE',
      value: paths.masterKeyFile,
      configKey: 'security.master_key_file',
    },
    { name: 'ASSISTD_DATABASE_URL', value: values.database.url, configKey: 'database.url' },
    { name: 'ASSISTD_REDIS_URL', value: values.redis.url, configKey: 'redis.url' },
  ];
  if (values.logs.mode === 'shared' && !options.jobs) {
    // $(POD_NAME) is expanded by the kubelet: one file per pod on the shared claim, so replicas
    // never interleave lines in one file.
    env.push({
      name: 'ASSISTD_LOG_FILE',
      value: `${paths.logsDir}/$(POD_NAME).log`,
      configKey: 'log_file',
    });
  }
  if (values.secrets.databasePassword !== null) {
    env.push({
      name: 'ASSISTD_DATABASE_PASSWORD_FILE',
      value: paths.databasePasswordFile,
      configKey: 'database.password_file',
    });
  }
  if (values.secrets.redisPassword !== null) {
    env.push({
      name: 'ASSISTD_REDIS_PASSWORD_FILE',
      value: paths.redisPasswordFile,
      configKey: 'redis.password_file',
    });
  }
  if (values.model.endpoint !== undefined) {
    env.push({ name: 'MODEL_ENDPOINT', value: values.model.endpoint, configKey: 'model_endpoint' });
    env.push({ name: 'API_KEY_FILE', value: paths.apiKeyFile, configKey: 'api_key_file' });
  }
  if (values.model.local) {
    env.push({ name: 'ASSISTD_MODEL_PATH', value: paths.modelsDir, configKey: 'model_path' });
  }
  if (values.policies !== undefined) {
    env.push({
      name: 'ASSISTD_POLICIES_FILE',
      value: paths.policiesFile,
      configKey: 'security.policies_file',
    });
  }
  return env;
}

/** The container's env: the pod name first (ASSISTD_LOG_FILE refers to it), then `configEnv`. */
export function containerEnv(values: Values, options: { jobs?: boolean } = {}): IEnvVar[] {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...configEnv(values, options).map(({ name, value }) => ({ name, value })),
  ];
}

/** Config keys set by env: a values `config` entry for one of them would be silently overridden. */
export function configKeysSetByEnv(values: Values): string[] {
  return configEnv(values).map((entry) => entry.configKey);
}
