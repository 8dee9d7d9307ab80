import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { alertName, exportPrometheusRule, prometheusRule } from './prometheus-rule.js';
import type { ExportableRule } from './prometheus-rule.js';

const minute = 60_000;

/** The built-in rules (`alerts/default-rules.ts`). */
const defaults: ExportableRule[] = [
  {
    name: 'cpu-high',
    metric: 'cpu_percent',
    aggregation: 'avg',
    windowMs: minute,
    comparison: '>',
    threshold: 85,
    forMs: 0,
    severity: 'warning',
    summary: 'CPU usage',
  },
  {
    name: 'latency-p99-high',
    metric: 'request_latency_ms',
    aggregation: 'p99',
    windowMs: 5 * minute,
    comparison: '>',
    threshold: 2000,
    forMs: 0,
    severity: 'warning',
    summary: 'P99 latency',
  },
  {
    name: 'error-rate-high',
    metric: 'error_rate_percent',
    aggregation: 'avg',
    windowMs: 10 * minute,
    comparison: '>',
    threshold: 5,
    forMs: 0,
    severity: 'critical',
    summary: 'Error rate',
  },
];

describe('prometheusRule', () => {
  it('writes the default rules as a PrometheusRule', () => {
    const text = prometheusRule(defaults, { namespace: 'ai', labels: { release: 'kps' } });
    expect(parse(text)).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'assistd', namespace: 'ai', labels: { release: 'kps' } },
      spec: {
        groups: [
          {
            name: 'assistd',
            rules: [
              {
                alert: 'AssistdCpuHigh',
                expr: '100 * avg_over_time(assistd_system_cpu_utilisation_ratio[1m]) > 85',
                labels: { severity: 'warning' },
                annotations: {
                  summary: 'CPU usage',
                  description:
                    'avg of cpu_percent over 1m on {{ $labels.instance }} is {{ $value }} ' +
                    '(alert when > 85; assistd rule cpu-high).',
                },
              },
              {
                alert: 'AssistdLatencyP99High',
                expr:
                  '1000 * histogram_quantile(0.99, sum by (le) ' +
                  '(rate(assistd_http_request_duration_seconds_bucket[5m]))) > 2000',
                labels: { severity: 'warning' },
                annotations: {
                  summary: 'P99 latency',
                  description:
                    'p99 of request_latency_ms over 5m is {{ $value }} ' +
                    '(alert when > 2000; assistd rule latency-p99-high).',
                },
              },
              {
                alert: 'AssistdErrorRateHigh',
                expr:
                  '100 * (sum(rate(assistd_http_requests_total{status=~"5.."}[10m])) or ' +
                  'vector(0)) / sum(rate(assistd_http_requests_total[10m])) > 5',
                labels: { severity: 'critical' },
                annotations: {
                  summary: 'Error rate',
                  description:
                    'avg of error_rate_percent over 10m is {{ $value }} ' +
                    '(alert when > 5; assistd rule error-rate-high).',
                },
              },
            ],
          },
        ],
      },
    });
    // One line per expression: no folding.
    expect(text).toContain(
      'expr: 100 * avg_over_time(assistd_system_cpu_utilisation_ratio[1m]) > 85\n',
    );
  });

  it('keeps metadata minimal by default and writes `for` when set', () => {
    const { resource, skipped } = exportPrometheusRule([
      { ...defaults[1]!, comparison: '<=', threshold: 0.5, forMs: 90_000, summary: undefined },
    ]);
    expect(skipped).toEqual([]);
    expect(resource.metadata).toEqual({ name: 'assistd' });
    const [rule] = resource.spec.groups[0].rules;
    expect(rule?.for).toBe('1m30s');
    expect(rule?.expr).toMatch(/\) <= 0\.5$/);
    expect(rule?.annotations.summary).toBe('p99 request_latency_ms');
  });

  it('skips untranslatable rules, saying why in the result and in comments', () => {
    const rules: ExportableRule[] = [
      ...defaults,
      { ...defaults[0]!, name: 'process-cpu', metric: 'process_cpu_percent' },
      { ...defaults[1]!, name: 'fast-latency', windowMs: 20_000 },
      { ...defaults[0]!, name: 'odd\nname', forMs: -1 },
    ];
    const { yaml, resource, skipped } = exportPrometheusRule(rules, { name: 'ai-alerts' });
    expect(skipped.map((rule) => rule.name)).toEqual(['process-cpu', 'fast-latency', 'odd\nname']);
    expect(skipped[0]!.reason).toContain('CPU count');
    expect(skipped[1]!.reason).toContain('shorter than 1m');
    expect(resource.spec.groups[0].rules.map((rule) => rule.alert)).toEqual([
      'AssistdCpuHigh',
      'AssistdLatencyP99High',
      'AssistdErrorRateHigh',
    ]);
    const document = parseDocument(yaml);
    expect(document.errors).toEqual([]);
    expect(document.commentBefore).toContain('Skipped process-cpu: no exported metric');
    expect(document.commentBefore).toContain('Skipped odd name: for -1 ms');
    expect(document.toJS()).toEqual(resource);
  });

  it('names alerts in CamelCase after Assistd', () => {
    expect(alertName('latency-p99-high')).toBe('AssistdLatencyP99High');
    expect(alertName('disk_full  now')).toBe('AssistdDiskFullNow');
    expect(alertName('--')).toBe('Assistd');
  });
});
