import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { ICronJob } from 'kubernetes-models/batch/v1';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap, IPersistentVolumeClaim, ISecret, IService } from 'kubernetes-models/v1';
import type { PrometheusRuleResource } from '../../monitor/export/index.js';

// The Kubernetes types are type-only imports: kubernetes-models is a dev dependency (its
// validators run in the tests), and nothing of it is loaded when the CLI renders.

/** Every kind `deploy render` produces. */
export type Manifest =
  | IConfigMap
  | ISecret
  | IPersistentVolumeClaim
  | IService
  | IDeployment
  | IPodDisruptionBudget
  | IHorizontalPodAutoscaler
  | IIngress
  | INetworkPolicy
  | ICronJob
  | IServiceMonitor
  | PrometheusRuleResource;

/** One rendered object, with a comment written above it in the YAML (no leading `#`). */
export interface RenderedObject {
  manifest: Manifest;
  comment?: string;
}
