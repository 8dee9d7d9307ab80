import type { ApiClient } from './client';

/** `inactive`, `pending`, `firing`, `resolved`; a newer server may add more. */
export type AlertState = string;

/** A rule as `GET /admin/alerts` shows it (src/monitor/alerts/snapshot.ts). */
export interface AlertRuleView {
  name: string;
  metric: string;
  aggregation: string;
  window: string;
  comparison: string;
  threshold: number;
  for: string;
  severity: string;
  channels: string[];
  summary?: string;
  description?: string;
  /** e.g. `p99(request_latency_ms[5m]) > 2000 for 0s`. */
  condition: string;
}

/** Times are milliseconds since the epoch. */
export interface AlertStateView {
  state: AlertState;
  since: number;
  activeAt?: number;
  /** Absent: no data yet. */
  value?: number;
  lastEvaluatedAt?: number;
  error?: string;
}

export interface AlertsSnapshot {
  object: 'alerts';
  at: number;
  source: string;
  running: boolean;
  rules: Array<{ rule: AlertRuleView; state: AlertStateView }>;
}

export async function fetchAlerts(api: ApiClient, signal?: AbortSignal): Promise<AlertsSnapshot> {
  const body = (await api.json('/admin/alerts', { signal })) as AlertsSnapshot;
  return { ...body, rules: Array.isArray(body.rules) ? body.rules : [] };
}
