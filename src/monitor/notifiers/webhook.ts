import { createHmac } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { AlertInstance, AlertNotification, Notifier, SendResult } from '../types.js';
import { secretValue, type ChannelOf } from './config.js';
import { alertLine, headline, plainText } from './format.js';
import { HttpTarget } from './http-send.js';

/** Alertmanager writes this for the end of an alert that has not ended. */
const zeroTime = '0001-01-01T00:00:00Z';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The Alertmanager webhook payload (version 4) for `notification`, sent by `receiver`. */
export function alertmanagerPayload(notification: AlertNotification, receiver: string): unknown {
  const common = (pick: (alert: AlertInstance) => Record<string, string>) => {
    const [first, ...rest] = notification.alerts.map(pick);
    return Object.fromEntries(
      Object.entries(first ?? {}).filter(([key, value]) =>
        rest.every((other) => other[key] === value),
      ),
    );
  };
  const annotations = (alert: AlertInstance) => ({
    summary: alert.summary,
    description: alertLine(alert),
  });
  return {
    version: '4',
    groupKey: notification.groupKey,
    truncatedAlerts: 0,
    status: notification.status,
    receiver,
    groupLabels: { alertname: common((alert) => ({ ...alert.labels })).alertname ?? 'assistd' },
    commonLabels: common((alert) => ({ ...alert.labels })),
    commonAnnotations: common(annotations),
    externalURL: notification.externalUrl ?? '',
    alerts: notification.alerts.map((alert) => ({
      status: alert.status,
      labels: { ...alert.labels },
      annotations: annotations(alert),
      startsAt: iso(alert.startsAt),
      endsAt: alert.endsAt === undefined ? zeroTime : iso(alert.endsAt),
      generatorURL: notification.externalUrl ?? '',
      fingerprint: alert.fingerprint,
    })),
  };
}

/** assistd's own JSON document for a notification (`format: json`). */
export function jsonPayload(notification: AlertNotification): unknown {
  return {
    source: 'assistd',
    status: notification.status,
    test: notification.test === true,
    group_key: notification.groupKey,
    title: headline(notification),
    text: plainText(notification),
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
      starts_at: iso(alert.startsAt),
      ends_at: alert.endsAt === undefined ? null : iso(alert.endsAt),
      fingerprint: alert.fingerprint,
      labels: alert.labels,
    })),
  };
}

/** The values `{{name}}` placeholders of a template take. */
function templateValues(notification: AlertNotification): Record<string, string> {
  const first = notification.alerts[0];
  return {
    status: notification.status,
    title: headline(notification),
    text: plainText(notification),
    alerts_text: notification.alerts.map(alertLine).join('; '),
    count: String(notification.alerts.length),
    rule: first?.rule ?? '',
    severity: first?.severity ?? '',
    summary: first?.summary ?? '',
    value: first?.value === undefined ? '' : String(first.value),
    threshold: first === undefined ? '' : String(first.threshold),
  };
}

/**
 * Fills `{{name}}` placeholders (`status`, `title`, `text`, `alerts_text`, `count`, `rule`,
 * `severity`, `summary`, `value`, `threshold`). Each value is escaped as the inside of a JSON
 * string, so a template whose placeholders sit inside JSON strings stays valid JSON whatever the
 * alert text holds. An unknown placeholder is an error.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown placeholder {{${name}}} in the template`);
    return JSON.stringify(value).slice(1, -1);
  });
}

/** `X-Assistd-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A generic webhook: the way to SMS and voice-call gateways, ticketing and Alertmanager-style
 * receivers. The body is assistd's JSON, Alertmanager's payload, or a template; with
 * `hmac_secret` it is signed (`X-Assistd-Timestamp`, seconds, and `X-Assistd-Signature`).
 */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  private readonly url: URL;
  private readonly hmacSecret: string | undefined;
  private readonly target: HttpTarget;

  constructor(
    readonly name: string,
    private readonly config: ChannelOf<'webhook'>,
    private readonly http: { dispatcher?: Dispatcher | undefined; clock?: () => number } = {},
  ) {
    const url = secretValue(config.url, config.url_file, 'url', true)!;
    this.url = new URL(url);
    this.hmacSecret = secretValue(
      config.hmac_secret,
      config.hmac_secret_file,
      'hmac_secret',
      false,
    );
    if (config.format === 'template') {
      if (config.template === undefined) throw new Error('format "template" needs a template');
      const sample = renderTemplate(config.template, templateValues(sampleNotification));
      try {
        JSON.parse(sample);
      } catch (error) {
        throw new Error(`the template does not give valid JSON: ${(error as Error).message}`, {
          cause: error,
        });
      }
    } else if (config.template !== undefined) {
      throw new Error('template is only used with format "template"');
    }
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: http.dispatcher,
      secrets: [
        ...(config.url_file !== undefined ? [url] : []),
        ...(this.hmacSecret === undefined ? [] : [this.hmacSecret]),
      ],
    });
    this.target.check(this.url);
  }

  body(notification: AlertNotification): string {
    switch (this.config.format) {
      case 'alertmanager':
        return JSON.stringify(alertmanagerPayload(notification, this.name));
      case 'template':
        return renderTemplate(this.config.template!, templateValues(notification));
      default:
        return JSON.stringify(jsonPayload(notification));
    }
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    const body = this.body(notification);
    const headers: Record<string, string> = { ...this.config.headers };
    if (this.hmacSecret !== undefined) {
      const timestamp = String(Math.floor((this.http.clock ?? Date.now)() / 1000));
      headers['x-assistd-timestamp'] = timestamp;
      headers['x-assistd-signature'] = webhookSignature(this.hmacSecret, timestamp, body);
    }
    return this.target.post(this.url, body, headers, signal, (answer) => ({
      ok: true,
      status: answer.status,
      detail: `HTTP ${answer.status} ${answer.text.slice(0, 120)}`.trim(),
      retryable: false,
    }));
  }
}

const sampleNotification: AlertNotification = {
  status: 'firing',
  groupKey: 'sample',
  alerts: [
    {
      rule: 'sample "rule" \\ {{x}}',
      status: 'firing',
      severity: 'warning',
      metric: 'request_latency_ms',
      aggregation: 'p99',
      comparison: '>',
      threshold: 2000,
      value: 2500,
      summary: 'line one\nline "two" \\ three',
      startsAt: 0,
      fingerprint: '0',
      labels: {},
    },
  ],
};
