import { describe, expect, it } from 'vitest';
import { grafanaDashboard } from './grafana.js';

describe('grafanaDashboard', () => {
  it('lays out one panel per charted series, two per row, with units and queries', () => {
    const dashboard = grafanaDashboard();
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.panels.map((panel) => panel.title)).toEqual([
      'Requests',
      'Request latency',
      'Error rate (5xx)',
      'CPU',
      'Tokens generated',
      'Context-cache hit rate',
      'Local engine batch occupancy',
      'Time to first token',
      'Event-loop lag (P99)',
      'Resident memory',
    ]);
    for (const [index, panel] of dashboard.panels.entries()) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.expr).toMatch(/\S/);
      expect(panel.fieldConfig.defaults.unit).toMatch(/^(ms|percent|reqps|bytes|short)$/);
      expect(panel.gridPos).toEqual({
        x: (index % 2) * 12,
        y: Math.floor(index / 2) * 8,
        w: 12,
        h: 8,
      });
    }
    const latency = dashboard.panels[1]!;
    expect(latency.targets.map((target) => [target.refId, target.legendFormat])).toEqual([
      ['A', 'P50'],
      ['B', 'P99'],
    ]);
    expect(latency.targets[1]!.expr).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) ' +
        '(rate(assistd_http_request_duration_seconds_bucket[$__rate_interval])))',
    );
    expect(dashboard.panels[3]!.targets[0]!.legendFormat).toBe('{{instance}}');
    expect(dashboard).toMatchObject({
      schemaVersion: 39,
      time: { from: 'now-6h', to: 'now' },
      refresh: '30s',
      title: 'assistd',
    });
  });

  it('points every panel and query at the datasource variable, defaulting to the input', () => {
    const dashboard = grafanaDashboard({ title: 'AI gateway' });
    expect(dashboard.title).toBe('AI gateway');
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({
        name: 'DS_PROMETHEUS',
        type: 'datasource',
        pluginId: 'prometheus',
      }),
    ]);
    const variable = dashboard.templating.list.find((entry) => entry.name === 'datasource');
    expect(variable).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
      current: { value: '${DS_PROMETHEUS}' },
    });
    const text = JSON.stringify(dashboard);
    // `${DS_PROMETHEUS}` appears once, as the variable's default; everything else uses the variable.
    expect(text.split('${DS_PROMETHEUS}').length - 1).toBe(1);
    const refs = dashboard.panels.flatMap((panel) => [
      panel.datasource,
      ...panel.targets.map((target) => target.datasource),
    ]);
    for (const ref of refs) expect(ref).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it('takes a known data source uid for provisioning, without an import input', () => {
    const dashboard = grafanaDashboard({ datasourceUid: 'prom-main' });
    expect(dashboard.__inputs).toBeUndefined();
    expect(JSON.stringify(dashboard)).not.toContain('DS_PROMETHEUS');
    expect(dashboard.templating.list[0]).toMatchObject({ current: { value: 'prom-main' } });
  });
});
