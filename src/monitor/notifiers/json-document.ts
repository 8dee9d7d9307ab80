import type { AlertNotification } from '../types.js';
import { headline, rfc3339, plainText } from './format.js';

/**
 * assistd's own webhook document (`format: json`), snake_case like the config:
 *
 * - `source`: `"assistd"`; `status`: `"firing"` | `"resolved"`; `test`: true for `assistd alerts
 *   test`; `group_key`: the same across repeats of a group (for deduplication);
 * - `title`: the headline (`[FIRING] assistd RULE`); `text`: the plain-text message;
 * - `external_url`: the console's URL or null;
 * - `alerts[]`: `rule`, `status`, `severity`, `summary`, `metric`, `aggregation`, `comparison`,
 *   `threshold`, `value` (null: no data), `starts_at` and `ends_at` (RFC 3339 UTC, `ends_at` null
 *   until resolved), `fingerprint` (stable per rule, hex), `labels`.
 */
export function jsonDocument(notification: AlertNotification): unknown {
  return {
    source: 'assistd',
    status: notification.status,
    test: notification.test === true,
    group_key: notification.groupKey,
    title: headline(notification),
    text: plainText(notification),
    external_url: notification.externalUrl ?? null,
    alerts: notification.alerts.map((alert) => ({
      rule: alert.rule,
      status: alert.status,
      severity: alert.severity,
      summary: alert.summary,
      metric: alert.metric,
      aggregation: alert.aggregation,
      comparison: alert.comparison,
      threshold: alert.threshold,
      value: alert.value ?? null,
      starts_at: rfc3339(alert.startsAt),
      ends_at: alert.endsAt === undefined ? null : rfc3339(alert.endsAt),
      fingerprint: alert.fingerprint,
      labels: alert.labels,
    })),
  };
}
