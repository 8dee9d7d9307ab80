import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { builtInRules } from '../../monitor/alerts/default-rules.js';
import { exportPrometheusRule } from '../../monitor/export/index.js';
import { commonLabels, componentSelector, metadata, objectName } from './labels.js';
import type { RenderedObject } from './manifest.js';
import type { Values } from './values-schema.js';

/**
 * Prometheus scrapes /metrics of every replica. In `listener` mode it reads the separate scrape
 * port (`metrics.listen`), which needs no token; in `token` mode it reads the http port, where
 * /metrics needs a token allowed `get:metrics`, taken from `secrets.metricsToken`.
 */
export function serviceMonitor(values: Values): IServiceMonitor {
  const listener = values.monitoring.scrape === 'listener';
  const { labels, interval } = values.monitoring.serviceMonitor;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(values, objectName(values), 'monitoring', { labels }),
    spec: {
      selector: { matchLabels: componentSelector(values, 'server') },
      namespaceSelector: { matchNames: [values.namespace] },
      endpoints: [
        {
          port: listener ? 'metrics' : 'http',
          path: '/metrics',
          interval,
          scheme: 'http',
          ...(listener
            ? {}
            : {
                authorization: {
                  type: 'Bearer',
                  credentials: { ...values.secrets.metricsToken },
                },
              }),
        },
      ],
    },
  };
}

/**
 * The runbook's alert rules (monitor/alerts/default-rules.ts: CPU > 85 %, P99 > 2000 ms, error
 * rate > 5 %) as a PrometheusRule, translated by the same exporter as `assistd alerts export`.
 * With a rules file (`alerts.rules_file`), export that file with `assistd alerts export` instead.
 */
export function prometheusRule(values: Values): RenderedObject {
  const exported = exportPrometheusRule(builtInRules, {
    name: objectName(values),
    namespace: values.namespace,
    labels: { ...commonLabels(values, 'monitoring'), ...values.monitoring.prometheusRule.labels },
  });
  const skipped = exported.skipped.map((rule) => ` Skipped ${rule.name}: ${rule.reason}`);
  return {
    manifest: exported.resource,
    ...(skipped.length > 0 ? { comment: skipped.join('\n') } : {}),
  };
}
