import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { ICronJob } from 'kubernetes-models/batch/v1';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IPersistentVolumeClaim, ISecret, IService } from 'kubernetes-models/v1';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { describe, expect, it } from 'vitest';
import type { PrometheusRuleResource } from '../../monitor/export/index.js';
import { everythingOn, runbook } from './__fixtures__/values.js';
import { checkValues, renderManifests, type Manifest, type ValuesInput } from './index.js';

function render(input: ValuesInput = runbook) {
  return renderManifests(checkValues(input)).map(({ manifest }) => manifest);
}

function one<T extends Manifest>(objects: Manifest[], kind: string, name?: string): T {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata?.name === name),
  );
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as T;
}

const objects = render();
const deployment = one<IDeployment>(objects, 'Deployment');
const pod = deployment.spec!.template.spec!;
const server = pod.containers[0]!;

describe('the runbook deployment', () => {
  it('runs 3 replicas, spread over zones and hosts, with at most one down', () => {
    const autoscaler = one<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
    expect(autoscaler.spec.minReplicas).toBe(3);
    expect(autoscaler.spec.maxReplicas).toBe(10);
    expect(autoscaler.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'assistd',
    });
    expect(autoscaler.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ]);
    // The autoscaler owns the count; without it the Deployment says 3.
    expect(deployment.spec!.replicas).toBeUndefined();
    const fixed = one<IDeployment>(
      render({ ...runbook, autoscaling: { enabled: false } }),
      'Deployment',
    );
    expect(fixed.spec!.replicas).toBe(3);

    const zone = pod.topologySpreadConstraints!.find(
      (c) => c.topologyKey === 'topology.kubernetes.io/zone',
    );
    expect(zone).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
    expect(zone!.labelSelector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    const host = pod.topologySpreadConstraints!.find(
      (c) => c.topologyKey === 'kubernetes.io/hostname',
    );
    expect(host).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' });

    const budget = one<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(budget.spec!.maxUnavailable).toBe(1);
    expect(budget.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
  });

  it('probes /health and /ready on the named port 18789', () => {
    expect(server.ports).toContainEqual({ name: 'http', containerPort: 18789, protocol: 'TCP' });
    expect(server.startupProbe!.httpGet).toEqual({ path: '/health', port: 'http', scheme: 'HTTP' });
    expect(server.livenessProbe!.httpGet).toEqual({
      path: '/health',
      port: 'http',
      scheme: 'HTTP',
    });
    expect(server.readinessProbe!.httpGet).toEqual({
      path: '/ready',
      port: 'http',
      scheme: 'HTTP',
    });
    // 300 s to start at one probe every 5 s.
    expect(server.startupProbe!.failureThreshold! * server.startupProbe!.periodSeconds!).toBe(300);
  });

  it('runs init-service behind a TLS-terminating proxy, with requests and limits', () => {
    expect(server.command).toEqual(['/opt/assistant/bin/init-service']);
    expect(server.args).toEqual([
      '--config',
      '/etc/assistd/config.yaml',
      '--host',
      '0.0.0.0',
      '--port',
      '18789',
      '--tls-terminated-by-proxy',
    ]);
    expect(server.resources).toEqual({
      requests: { cpu: '2', memory: '4Gi' },
      limits: { cpu: '4', memory: '8Gi' },
    });
    expect(server.image).toMatch(/^assistd:\d+\.\d+\.\d+/);
    expect(server.imagePullPolicy).toBe('IfNotPresent');
  });

  it('runs unprivileged on a read-only root filesystem', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of [...pod.initContainers!, ...pod.containers]) {
      expect(container.securityContext, container.name).toEqual({
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    const tmp = server.volumeMounts!.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes!.find((v) => v.name === tmp!.name)!.emptyDir).toBeDefined();
    const dataDir = server.env!.find((e) => e.name === 'ASSISTD_DATA_DIR')!.value!;
    const data = server.volumeMounts!.find((m) => m.mountPath === dataDir);
    expect(data!.readOnly).toBeUndefined();
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('gives streams the drain timeout and more before SIGKILL', () => {
    const configYaml = one<Manifest & { data: Record<string, string> }>(objects, 'ConfigMap').data[
      'config.yaml'
    ]!;
    const drain = Number(/^shutdown_grace_seconds: (\d+)$/m.exec(configYaml)![1]);
    expect(drain).toBe(25);
    const preStop = server.lifecycle!.preStop!.sleep!.seconds;
    expect(preStop).toBe(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drain + preStop);
    expect(pod.terminationGracePeriodSeconds).toBe(40);
    const longer = one<IDeployment>(
      render({ ...runbook, server: { drainSeconds: 120 } }),
      'Deployment',
    );
    expect(longer.spec!.template.spec!.terminationGracePeriodSeconds).toBe(135);
  });

  it('serves a ClusterIP Service on 18789', () => {
    const service = one<IService>(objects, 'Service');
    expect(service.spec!.type).toBe('ClusterIP');
    expect(service.spec!.ports).toContainEqual({
      name: 'http',
      port: 18789,
      targetPort: 'http',
      protocol: 'TCP',
    });
    expect(service.spec!.selector).toEqual(deployment.spec!.selector.matchLabels);
  });

  it('mounts 200Gi of models on ssd read-only and 50Gi of logs on hdd', () => {
    const models = one<IPersistentVolumeClaim>(objects, 'PersistentVolumeClaim', 'assistd-models');
    expect(models.spec).toMatchObject({
      accessModes: ['ReadOnlyMany'],
      storageClassName: 'ssd',
      resources: { requests: { storage: '200Gi' } },
    });
    const logs = one<IPersistentVolumeClaim>(objects, 'PersistentVolumeClaim', 'assistd-logs');
    expect(logs.spec).toMatchObject({
      accessModes: ['ReadWriteMany'],
      storageClassName: 'hdd',
      resources: { requests: { storage: '50Gi' } },
    });
    expect(server.volumeMounts).toContainEqual({
      name: 'models',
      mountPath: '/opt/models',
      readOnly: true,
    });
    expect(server.volumeMounts).toContainEqual({ name: 'logs', mountPath: '/var/log' });
    expect(pod.volumes).toContainEqual({
      name: 'models',
      persistentVolumeClaim: { claimName: 'assistd-models', readOnly: true },
    });
    expect(server.env).toContainEqual({
      name: 'ASSISTD_LOG_FILE',
      value: '/var/log/assistd/$(POD_NAME).log',
    });
    expect(server.env!.findIndex((e) => e.name === 'POD_NAME')).toBeLessThan(
      server.env!.findIndex((e) => e.name === 'ASSISTD_LOG_FILE'),
    );
  });

  it('restores per-pod models from a snapshot into an SSD volume of their own', () => {
    const perPod = one<IDeployment>(render(everythingOn), 'Deployment').spec!.template.spec!;
    const volume = perPod.volumes!.find((v) => v.name === 'models')!;
    expect(volume.ephemeral!.volumeClaimTemplate!.spec).toMatchObject({
      storageClassName: 'ssd',
      resources: { requests: { storage: '200Gi' } },
    });
    const restore = perPod.initContainers!.find((c) => c.name === 'restore-models')!;
    expect([...restore.command!, ...restore.args!]).toEqual([
      'assistd',
      'restore',
      'models',
      '--config',
      '/etc/assistd/config.yaml',
      '--snapshot',
      '2024-06-01T03-00-00Z-0123abcd',
      '--to',
      '/opt/models',
    ]);
    expect(perPod.initContainers!.map((c) => c.name)).toEqual(['prepare', 'restore-models']);
  });

  it('lets in 18789 and out only DNS, NTP, the model endpoint, PostgreSQL, Redis and S3', () => {
    const policy = one<INetworkPolicy>(objects, 'NetworkPolicy');
    expect(policy.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec!.ingress![0]).toEqual({ ports: [{ protocol: 'TCP', port: 18789 }] });
    const egress = policy.spec!.egress!.flatMap((rule) =>
      rule.ports!.map((p) => `${p.protocol}/${p.port}`),
    );
    expect(egress.sort()).toEqual(
      ['TCP/443', 'TCP/5432', 'TCP/53', 'TCP/6379', 'TCP/8443', 'UDP/123', 'UDP/53'].sort(),
    );
    const model = policy.spec!.egress!.find((rule) => rule.ports![0]!.port === 8443)!;
    expect(model.to).toEqual([{ ipBlock: { cidr: '10.20.0.0/16' } }]);
    expect(policy.spec!.podSelector!.matchLabels).toEqual({
      'app.kubernetes.io/name': 'assistd',
      'app.kubernetes.io/instance': 'assistd',
    });
  });

  it('mounts the API key as /secrets/api_key.txt and references secrets only', () => {
    expect(server.env).toContainEqual({ name: 'API_KEY_FILE', value: '/secrets/api_key.txt' });
    expect(server.env).toContainEqual({
      name: 'MODEL_ENDPOINT',
      value: 'https://llm.example.internal:8443/v1',
    });
    const secrets = pod.volumes!.find((v) => v.name === 'secrets')!.projected!.sources!;
    expect(secrets).toContainEqual({
      secret: { name: 'assistd-api-key', items: [{ key: 'api_key.txt', path: 'api_key.txt' }] },
    });
    expect(server.volumeMounts).toContainEqual({
      name: 'secrets',
      mountPath: '/secrets',
      readOnly: true,
    });
    expect(server.env).toContainEqual({
      name: 'ASSISTD_MASTER_KEY_FILE',
      value: '/run/assistd/master.key',
    });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('renders Secret skeletons with placeholders only when asked', () => {
    const skeletons = render(everythingOn).filter((o): o is ISecret => o.kind === 'Secret');
    expect(skeletons.map((s) => s.metadata!.name).sort()).toEqual([
      'assistd-api-key',
      'assistd-database',
      'assistd-master-key',
      'assistd-metrics-token',
      'chat-object-store',
      'chat-redis',
    ]);
    for (const secret of skeletons) {
      expect(secret.data).toBeUndefined();
      for (const value of Object.values(secret.stringData!)) expect(value).toMatch(/^REPLACE: /);
    }
  });

  it('scrapes /metrics and alerts on the built-in rules', () => {
    const monitor = one<IServiceMonitor>(objects, 'ServiceMonitor');
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    const token = one<IServiceMonitor>(render(everythingOn), 'ServiceMonitor');
    expect(token.spec.endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
      authorization: {
        type: 'Bearer',
        credentials: { name: 'assistd-metrics-token', key: 'token' },
      },
    });
    const rule = one<PrometheusRuleResource>(objects, 'PrometheusRule');
    const alerts = Object.fromEntries(rule.spec.groups[0].rules.map((r) => [r.alert, r.expr]));
    expect(alerts.AssistdCpuHigh).toMatch(/ > 85$/);
    expect(alerts.AssistdLatencyP99High).toMatch(/histogram_quantile\(0\.99,.* > 2000$/);
    expect(alerts.AssistdErrorRateHigh).toMatch(/ > 5$/);
  });

  it('backs up the models daily at 03:00 UTC, never two at once', () => {
    const cron = one<ICronJob>(objects, 'CronJob');
    expect(cron.spec).toMatchObject({
      schedule: '0 3 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
    });
    const job = cron.spec.jobTemplate.spec!.template.spec!;
    const container = job.containers[0]!;
    expect([...container.command!, ...container.args!]).toEqual([
      'assistd',
      'backup',
      'models',
      '--config',
      '/etc/assistd/config.yaml',
    ]);
    expect(container.image).toBe(server.image);
    expect(container.securityContext).toEqual(server.securityContext);
    expect(job.securityContext).toEqual(pod.securityContext);
    expect(container.volumeMounts).toContainEqual({
      name: 'models',
      mountPath: '/opt/models',
      readOnly: true,
    });
  });

  it('renders an Ingress with TLS only when enabled', () => {
    expect(objects.filter((o) => o.kind === 'Ingress')).toEqual([]);
    const ingress = one<IIngress>(render(everythingOn), 'Ingress');
    expect(ingress.spec).toMatchObject({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['chat.example.com'], secretName: 'chat-tls' }],
      rules: [{ host: 'chat.example.com' }],
    });
    expect(ingress.metadata!.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
    });
  });

  it('labels every object and puts it in the namespace', () => {
    for (const object of render(everythingOn)) {
      expect(object.metadata!.namespace, object.kind).toBe('ai');
      expect(object.metadata!.labels).toMatchObject({
        'app.kubernetes.io/name': 'assistd',
        'app.kubernetes.io/instance': 'chat',
        'app.kubernetes.io/version': '1.2.3',
      });
      expect(object.metadata!.labels!['app.kubernetes.io/component']).toBeDefined();
    }
  });
});
