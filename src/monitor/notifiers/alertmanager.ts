import type { AlertInstance, AlertNotification } from '../types.js';
import { alertLine, rfc3339 } from './format.js';

// The payload Alertmanager POSTs to its webhook receivers (version 4), so that anything built
// for Alertmanager (incident tools, SMS and voice gateways, chat bridges) takes assistd's alerts.

/** What Alertmanager writes as the end of an alert that has not ended (Go's zero time). */
export const zeroTime = '0001-01-01T00:00:00Z';

/** One alert of the payload. */
export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook payload, version 4. */
export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** The labels and values every one of `maps` shares. */
function common(maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = maps;
  return Object.fromEntries(
    Object.entries(first ?? {}).filter(([key, value]) => rest.every((map) => map[key] === value)),
  );
}

function labelsOf(alert: AlertInstance): Record<string, string> {
  return { alertname: alert.rule, severity: alert.severity, ...alert.labels };
}

function annotationsOf(alert: AlertInstance): Record<string, string> {
  return { summary: alert.summary, description: alertLine(alert) };
}

/**
 * The payload for `notification` as receiver `receiver` (the channel's name). Labels are the
 * alert's (`alertname` and `severity` always present); annotations are `summary` and a
 * `description` line; `endsAt` is the zero time while an alert fires, as Alertmanager sends it;
 * `groupLabels` holds the `alertname` when every alert shares it; `externalURL` and
 * `generatorURL` are the console's URL (`alerts.external_url`), empty when not configured.
 */
export function alertmanagerPayload(
  notification: AlertNotification,
  receiver: string,
): AlertmanagerPayload {
  const labels = notification.alerts.map(labelsOf);
  const commonLabels = common(labels);
  const externalUrl = notification.externalUrl ?? '';
  return {
    version: '4',
    groupKey: notification.groupKey,
    truncatedAlerts: 0,
    status: notification.status,
    receiver,
    groupLabels: commonLabels.alertname === undefined ? {} : { alertname: commonLabels.alertname },
    commonLabels,
    commonAnnotations: common(notification.alerts.map(annotationsOf)),
    externalURL: externalUrl,
    alerts: notification.alerts.map((alert, index) => ({
      status: alert.status,
      labels: labels[index]!,
      annotations: annotationsOf(alert),
      startsAt: rfc3339(alert.startsAt),
      endsAt:
        alert.status === 'resolved' && alert.endsAt !== undefined
          ? rfc3339(alert.endsAt)
          : zeroTime,
      generatorURL: externalUrl,
      fingerprint: alert.fingerprint,
    })),
  };
}
