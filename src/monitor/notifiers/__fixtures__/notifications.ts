import type { AlertInstance, AlertNotification } from '../../types.js';

/** 2026-11-27T01:02:03Z: every alert starts here, and test clocks stand here. */
export const startsAt = Date.UTC(2026, 10, 27, 1, 2, 3);

/** The runbook's P99 alert, firing. */
export const p99Alert: AlertInstance = {
  rule: 'latency-p99-high',
  status: 'firing',
  severity: 'warning',
  metric: 'request_latency_ms',
  aggregation: 'p99',
  comparison: '>',
  threshold: 2000,
  value: 2350,
  summary: 'P99 latency 2350 ms > 2000 ms over 5m',
  startsAt,
  fingerprint: 'abc123',
  labels: { alertname: 'latency-p99-high', severity: 'warning', service: 'assistd' },
};

/** One firing alert. */
export const firing: AlertNotification = {
  status: 'firing',
  groupKey: 'ops:latency-p99-high',
  alerts: [p99Alert],
};

/** The same alert resolved a minute later. */
export const resolved: AlertNotification = {
  status: 'resolved',
  groupKey: 'ops:latency-p99-high',
  alerts: [
    {
      ...p99Alert,
      status: 'resolved',
      value: 1200,
      summary: 'P99 latency 1200 ms <= 2000 ms over 5m',
      endsAt: startsAt + 60_000,
    },
  ],
};

/** Two alerts in one notification (email and webhook bodies list each). */
export const twoFiring: AlertNotification = {
  status: 'firing',
  groupKey: 'ops:error-rate-high,latency-p99-high',
  externalUrl: 'https://assistd.example/console',
  alerts: [
    p99Alert,
    {
      ...p99Alert,
      rule: 'error-rate-high',
      severity: 'critical',
      metric: 'error_rate_percent',
      aggregation: 'avg',
      threshold: 5,
      value: 12.5,
      summary: 'Error rate 12.5 % > 5 % over 5m',
      fingerprint: 'def456',
      labels: { alertname: 'error-rate-high', severity: 'critical', service: 'assistd' },
    },
  ],
};

/** A clock standing at `startsAt`. */
export const clock = (): number => startsAt;

/** A generous send limit for a receiver that answers. */
export const patient = (): AbortSignal => AbortSignal.timeout(5000);
