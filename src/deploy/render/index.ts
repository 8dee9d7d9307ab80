import { backupCronJob } from './backup-cron-job.js';
import { configDigest, configMap } from './config-map.js';
import type { RenderedObject } from './manifest.js';
import { prometheusRule, serviceMonitor } from './monitoring.js';
import { ingress, networkPolicy, service } from './network.js';
import { secretSkeletons } from './secrets.js';
import { logsClaim, modelsClaim } from './storage.js';
import type { Values } from './values-schema.js';
import { deployment, horizontalPodAutoscaler, podDisruptionBudget } from './workload.js';

export { defaultValuesYaml } from './default-values.js';
export { checkValues, parseValues, ValuesError } from './load-values.js';
export type { Manifest, RenderedObject } from './manifest.js';
export type { Values, ValuesInput } from './values-schema.js';
export { kustomization, manifestFileName, toYaml, writeManifests } from './yaml-writer.js';
export type { WrittenManifests } from './yaml-writer.js';

/**
 * Every object of a deployment, in the order `kubectl apply` should create them: config and
 * secrets before the pods that mount them, claims before the pods that bind them. Throws
 * `ValuesError` when the values make a config the server would refuse.
 */
export function renderManifests(values: Values): RenderedObject[] {
  const config = configMap(values);
  const digest = configDigest(config);
  const objects: RenderedObject[] = [{ manifest: config }];
  if (values.secrets.createSkeletons) objects.push(...secretSkeletons(values));
  if (values.models.mode === 'shared') objects.push({ manifest: modelsClaim(values) });
  if (values.logs.mode === 'shared') objects.push({ manifest: logsClaim(values) });
  objects.push({ manifest: service(values) });
  objects.push({ manifest: deployment(values, digest) });
  objects.push({ manifest: podDisruptionBudget(values) });
  if (values.autoscaling.enabled) objects.push({ manifest: horizontalPodAutoscaler(values) });
  if (values.ingress.enabled) objects.push({ manifest: ingress(values) });
  if (values.networkPolicy.enabled) objects.push({ manifest: networkPolicy(values) });
  // Per-pod models have no shared volume to back up: object storage already holds the snapshot.
  if (values.backup.enabled && values.models.mode === 'shared') {
    objects.push({ manifest: backupCronJob(values, digest) });
  }
  if (values.monitoring.serviceMonitor.enabled) objects.push({ manifest: serviceMonitor(values) });
  if (values.monitoring.prometheusRule.enabled) objects.push(prometheusRule(values));
  return objects;
}
