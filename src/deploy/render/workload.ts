import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IContainer, IContainerPort } from 'kubernetes-models/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { componentSelector, commonLabels, imageOf, metadata, objectName } from './labels.js';
import { containerEnv, httpPort, paths } from './pod-env.js';
import {
  containerSecurityContext,
  podSecurityContext,
  podVolumeMounts,
  podVolumes,
  prepareContainer,
  restoreModelsContainer,
} from './pod-spec.js';
import type { Values } from './values-schema.js';

/**
 * Seconds after the drain for what shutdown still does: the last audit checkpoint, flushing the
 * log, closing the PostgreSQL and Redis pools.
 */
export const shutdownMarginSeconds = 10;

/**
 * The pod's termination grace period. Kubernetes counts it from the start of the preStop hook,
 * so it is the preStop sleep, plus the server's drain (`shutdown_grace_seconds`, which it gives
 * in-flight streams after SIGTERM), plus a margin; a shorter one would SIGKILL streams mid-answer.
 */
export function terminationGraceSeconds(values: Values): number {
  return values.server.preStopSleepSeconds + values.server.drainSeconds + shutdownMarginSeconds;
}

function serverContainer(values: Values): IContainer {
  const ports: IContainerPort[] = [{ name: 'http', containerPort: httpPort, protocol: 'TCP' }];
  if (values.monitoring.scrape === 'listener') {
    ports.push({ name: 'metrics', containerPort: values.monitoring.metricsPort, protocol: 'TCP' });
  }
  const probe = (path: string) => ({ httpGet: { path, port: 'http', scheme: 'HTTP' as const } });
  const startupPeriod = 5;
  return {
    name: 'assistd',
    image: imageOf(values),
    imagePullPolicy: values.image.pullPolicy,
    // init-service is `assistd serve` under the runbook's name. TLS ends at the ingress, so the
    // pod serves plain HTTP on the pod network and says so with --tls-terminated-by-proxy.
    command: ['/opt/assistant/bin/init-service'],
    args: [
      '--config',
      paths.configFile,
      '--host',
      '0.0.0.0',
      '--port',
      String(httpPort),
      '--tls-terminated-by-proxy',
    ],
    ports,
    env: containerEnv(values),
    resources: {
      requests: { ...values.resources.requests },
      limits: { ...values.resources.limits },
    },
    securityContext: containerSecurityContext(),
    volumeMounts: podVolumeMounts(values, 'server'),
    // /health answers once HTTP is served (a local model may take minutes to load first).
    startupProbe: {
      ...probe('/health'),
      periodSeconds: startupPeriod,
      timeoutSeconds: 2,
      failureThreshold: Math.ceil(values.server.startupSeconds / startupPeriod),
    },
    livenessProbe: {
      ...probe('/health'),
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    // /ready checks the store and the model within 5 s, and fails as soon as the drain starts.
    readinessProbe: {
      ...probe('/ready'),
      periodSeconds: 5,
      timeoutSeconds: 6,
      failureThreshold: 2,
    },
    lifecycle: {
      // Endpoints are removed while the pod still serves, so no new request reaches a draining
      // pod; then SIGTERM starts the drain. (The sleep action needs Kubernetes 1.30 or later.)
      preStop: { sleep: { seconds: values.server.preStopSleepSeconds } },
    },
  };
}

/**
 * The replicas: a Deployment, not a StatefulSet, because a replica keeps no state of its own:
 * conversations, keys and audit live in PostgreSQL, the context cache and rate limits in Redis,
 * backups and the conversation log in object storage. Signing keys are in PostgreSQL too, sealed
 * with the master key, so no Secret carries them.
 */
export function deployment(values: Values, configDigest: string): IDeployment {
  const selector = componentSelector(values, 'server');
  const initContainers = [prepareContainer(values, 'server')];
  if (values.models.mode === 'per-pod') initContainers.push(restoreModelsContainer(values));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(values, objectName(values), 'server'),
    spec: {
      // With the autoscaler on, the replica count is its business: a count here would be reset
      // to on every `kubectl apply`. The autoscaler's minimum is `replicas`.
      ...(values.autoscaling.enabled ? {} : { replicas: values.replicas }),
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: commonLabels(values, 'server'),
          annotations: { 'assistd.dev/config-sha256': configDigest },
        },
        spec: {
          // Service links would put ASSISTD_PORT=tcp://… (from a Service named assistd) into the
          // env, where the config loader reads it as the port.
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: terminationGraceSeconds(values),
          topologySpreadConstraints: [
            {
              // One zone down leaves the others serving: never two more in one zone.
              topologyKey: 'topology.kubernetes.io/zone',
              maxSkew: 1,
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: selector },
              matchLabelKeys: ['pod-template-hash'],
            },
            {
              // Hosts: preferred, so a small node pool can still schedule every replica.
              topologyKey: 'kubernetes.io/hostname',
              maxSkew: 1,
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
              matchLabelKeys: ['pod-template-hash'],
            },
          ],
          initContainers,
          containers: [serverContainer(values)],
          volumes: podVolumes(values, 'server'),
        },
      },
    },
  };
}

/** At most one replica down for voluntary disruptions (node drains, upgrades). */
export function podDisruptionBudget(values: Values): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(values, objectName(values), 'server'),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: componentSelector(values, 'server') },
    },
  };
}

export function horizontalPodAutoscaler(values: Values): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(values, objectName(values), 'server'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: objectName(values) },
      minReplicas: values.replicas,
      maxReplicas: values.autoscaling.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: {
              type: 'Utilization',
              averageUtilization: values.autoscaling.targetCpuPercent,
            },
          },
        },
      ],
    },
  };
}
