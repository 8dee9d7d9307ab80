import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { CronJob } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { everythingOn } from './__fixtures__/values.js';
import { checkValues, renderManifests, type Manifest } from './index.js';

/**
 * Every kind the renderer may produce, by `apiVersion/kind`, with the model that validates it
 * against the Kubernetes (or Prometheus Operator) OpenAPI schema.
 */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'batch/v1/CronJob': CronJob,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** Validates one manifest; a kind without a model fails, so no new kind skips validation. */
function validate(manifest: Manifest): void {
  const model = models[`${manifest.apiVersion}/${manifest.kind}`];
  if (model === undefined) {
    throw new Error(
      `no schema model for ${manifest.apiVersion}/${manifest.kind}: add it to the map`,
    );
  }
  new model(structuredClone(manifest) as never).validate();
}

describe('rendered manifests against the Kubernetes schemas', () => {
  const cases = [
    ['the defaults', {}],
    ['everything switched on', everythingOn],
    [
      'the defaults with autoscaling off and token scrape',
      { autoscaling: { enabled: false }, monitoring: { scrape: 'token' } },
    ],
  ] as const;

  it.each(cases)('%s: every object validates', (_name, input) => {
    const objects = renderManifests(checkValues(input));
    expect(objects.length).toBeGreaterThan(5);
    for (const { manifest } of objects) {
      expect(() => validate(manifest), `${manifest.kind} ${manifest.metadata?.name}`).not.toThrow();
    }
  });

  it('covers every kind of the map between the cases', () => {
    const kinds = new Set(
      cases.flatMap(([, input]) =>
        renderManifests(checkValues(input)).map(
          ({ manifest }) => `${manifest.apiVersion}/${manifest.kind}`,
        ),
      ),
    );
    expect([...kinds].sort()).toEqual(Object.keys(models).sort());
  });

  it('fails a kind it has no model for', () => {
    const unknown = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'x' },
    } as unknown as Manifest;
    expect(() => validate(unknown)).toThrow(/no schema model for v1\/Pod/);
  });

  it('fails an object that breaks its schema', () => {
    const deployment = renderManifests(checkValues({})).find(
      ({ manifest }) => manifest.kind === 'Deployment',
    );
    const broken = structuredClone(deployment!.manifest) as Manifest & {
      spec: {
        template: { spec: { containers: Array<{ ports: Array<{ containerPort: unknown }> }> } };
      };
    };
    broken.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'http';
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
  });
});
