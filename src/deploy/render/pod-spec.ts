import type {
  IContainer,
  IPodSecurityContext,
  ISecurityContext,
  IVolume,
  IVolumeMount,
  IVolumeProjection,
} from 'kubernetes-models/v1';
import { imageOf, objectName } from './labels.js';
import { containerEnv, paths } from './pod-env.js';
import type { Values } from './values-schema.js';

/** The image's unprivileged user and group (Dockerfile: user assistd, 10001:10001). */
export const runAsId = 10001;

/**
 * Pod-level security. `fsGroup` makes the volumes writable by group 10001 (claims arrive owned
 * by root); `OnRootMismatch` skips the recursive chown of 200Gi of models on every start.
 */
export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: runAsId,
    runAsGroup: runAsId,
    fsGroup: runAsId,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Every container: read-only root filesystem, no privilege escalation, no capabilities. */
export function containerSecurityContext(): ISecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: runAsId,
    runAsGroup: runAsId,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Which pod the volumes are for: a server replica or a backup job. */
export type PodRole = 'server' | 'backup';

/** The Secret keys mounted under /secrets; only references, never their values. */
function secretProjections(values: Values): IVolumeProjection[] {
  const { secrets } = values;
  const sources: Array<{ name: string; key: string; path: string }> = [
    { ...secrets.masterKey, path: 'master.key' },
  ];
  if (values.model.endpoint !== undefined) sources.push({ ...secrets.apiKey, path: 'api_key.txt' });
  if (secrets.databasePassword !== null) {
    sources.push({ ...secrets.databasePassword, path: 'database-password' });
  }
  if (secrets.redisPassword !== null) {
    sources.push({ ...secrets.redisPassword, path: 'redis-password' });
  }
  if (secrets.objectStoreSecretKey !== null) {
    sources.push({ ...secrets.objectStoreSecretKey, path: 'object-store-secret-key' });
  }
  return sources.map(({ name, key, path }) => ({ secret: { name, items: [{ key, path }] } }));
}

export function podVolumes(values: Values, role: PodRole): IVolume[] {
  const volumes: IVolume[] = [
    { name: 'config', configMap: { name: objectName(values, 'config') } },
    { name: 'secrets', projected: { defaultMode: 0o440, sources: secretProjections(values) } },
    { name: 'keys', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    { name: 'data', emptyDir: { sizeLimit: values.dataDirSizeLimit } },
    // The root filesystem is read-only; Node and the SDKs still want a /tmp.
    { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
  ];
  if (values.models.mode === 'shared') {
    volumes.push({
      name: 'models',
      persistentVolumeClaim: { claimName: objectName(values, 'models'), readOnly: true },
    });
  } else if (role === 'server') {
    // A generic ephemeral volume: a claim of the SSD class made for each pod and deleted with
    // it, the Deployment's answer to a StatefulSet's volumeClaimTemplates.
    volumes.push({
      name: 'models',
      ephemeral: {
        volumeClaimTemplate: {
          metadata: { labels: { 'app.kubernetes.io/instance': values.name } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: values.models.storageClassName,
            resources: { requests: { storage: values.models.size } },
          },
        },
      },
    });
  }
  if (values.logs.mode === 'shared' && role === 'server') {
    volumes.push({
      name: 'logs',
      persistentVolumeClaim: { claimName: objectName(values, 'logs') },
    });
  }
  return volumes;
}

/** The mounts of the server and job containers: models read-only, root fs read-only. */
export function podVolumeMounts(values: Values, role: PodRole): IVolumeMount[] {
  const mounts: IVolumeMount[] = [
    { name: 'config', mountPath: paths.configDir, readOnly: true },
    { name: 'secrets', mountPath: paths.secretsDir, readOnly: true },
    { name: 'keys', mountPath: paths.keysDir, readOnly: true },
    { name: 'data', mountPath: paths.dataDir },
    { name: 'tmp', mountPath: paths.tmpDir },
  ];
  if (values.models.mode === 'shared' || role === 'server') {
    mounts.push({ name: 'models', mountPath: paths.modelsDir, readOnly: true });
  }
  if (values.logs.mode === 'shared' && role === 'server') {
    mounts.push({ name: 'logs', mountPath: paths.logsMount });
  }
  return mounts;
}

/**
 * Copies the master key where only its owner can read it. The server refuses a key file that
 * its group may read (security/crypto/master-key-file.ts), and a Secret volume is either owned by
 * root (unreadable by user 10001) or, with fsGroup, mode 0440: so the key is copied to a
 * memory-backed emptyDir with mode 0400. The image runs Node anyway (init-service is a Node
 * script), so `node -e` needs nothing more in it. With shared logs it also makes the log folder
 * on the fresh claim.
 */
export function prepareContainer(values: Values, role: PodRole): IContainer {
  const statements = [
    "const fs = require('node:fs');",
    `fs.rmSync('${paths.masterKeyFile}', { force: true });`,
    `fs.copyFileSync('${paths.masterKeySecret}', '${paths.masterKeyFile}');`,
    `fs.chmodSync('${paths.masterKeyFile}', 0o400);`,
  ];
  const mounts: IVolumeMount[] = [
    { name: 'secrets', mountPath: paths.secretsDir, readOnly: true },
    { name: 'keys', mountPath: paths.keysDir },
  ];
  if (values.logs.mode === 'shared' && role === 'server') {
    statements.push(`fs.mkdirSync('${paths.logsDir}', { recursive: true, mode: 0o750 });`);
    mounts.push({ name: 'logs', mountPath: paths.logsMount });
  }
  return {
    name: 'prepare',
    image: imageOf(values),
    imagePullPolicy: values.image.pullPolicy,
    command: ['node', '-e', statements.join(' ')],
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '128Mi' },
    },
    securityContext: containerSecurityContext(),
    volumeMounts: mounts,
  };
}

/**
 * Per-pod models: fills the pod's empty model volume from object storage before the server
 * starts (`assistd restore models`, every chunk checked). The restore refuses a folder that is
 * not empty, so a restore cut off halfway is retried by deleting the pod (a fresh volume), not by
 * restarting this container.
 */
export function restoreModelsContainer(values: Values): IContainer {
  return {
    name: 'restore-models',
    image: imageOf(values),
    imagePullPolicy: values.image.pullPolicy,
    command: ['assistd'],
    args: [
      'restore',
      'models',
      '--config',
      paths.configFile,
      '--snapshot',
      values.models.snapshot!,
      '--to',
      paths.modelsDir,
    ],
    env: containerEnv(values, { jobs: true }),
    resources: {
      requests: { ...values.resources.requests },
      limits: { ...values.resources.limits },
    },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      ...podVolumeMounts(values, 'backup'),
      { name: 'models', mountPath: paths.modelsDir },
    ],
  };
}
