// The seams of the monitoring module: the time series feed the alert engine (MetricReader), the
// alert engine hands notifications to channels (Notifier). Each side is built and tested on its
// own; server.ts wires them.

/** How a rule reduces a metric's window to one number. */
export type Aggregation = 'avg' | 'min' | 'max' | 'last' | 'p50' | 'p90' | 'p95' | 'p99';

/**
 * What the alert engine reads: a metric of the in-process time series, reduced over the window
 * that ends now. `undefined` means no data in the window (no requests, so no latency): a rule over
 * no data neither fires nor resolves.
 */
export interface MetricReader {
  read(metric: string, aggregation: Aggregation, windowMs: number): number | undefined;
  /** Whether `metric` exists and supports `aggregation` (checked when rules load). */
  supports(metric: string, aggregation: Aggregation): boolean;
  /** The metric names a rule may use, for error messages. */
  metricNames(): readonly string[];
}

export type Severity = 'info' | 'warning' | 'critical';

/** One alert in a notification: a rule's state at the time of sending. */
export interface AlertInstance {
  rule: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  metric: string;
  aggregation: Aggregation;
  comparison: '>' | '>=' | '<' | '<=';
  threshold: number;
  /** The value that made it fire, or the last value seen when it resolved; undefined: no data. */
  value: number | undefined;
  /** One line, e.g. "P99 latency 2350 ms > 2000 ms over 5m". */
  summary: string;
  /** Milliseconds since the epoch. */
  startsAt: number;
  endsAt?: number;
  /** Stable id of this rule's alert (same across repeats), hex. */
  fingerprint: string;
  /** Labels for Alertmanager-style receivers: alertname, severity, instance, service. */
  labels: Readonly<Record<string, string>>;
}

/** What a channel sends: alerts grouped by status, once per group and send. */
export interface AlertNotification {
  status: 'firing' | 'resolved';
  /** Identifies the group across sends (rule names and channel), for deduplication downstream. */
  groupKey: string;
  alerts: readonly AlertInstance[];
  /** `assistd alerts test`: says so in the message. */
  test?: boolean;
  /** Where the console lives, for links in messages; absent when not configured. */
  externalUrl?: string;
}

/** The receiver's answer to one send. */
export interface SendResult {
  ok: boolean;
  /** HTTP status, or the SMTP reply code. */
  status?: number;
  /** The receiver's answer, short and with secrets removed (`errcode 0 ok`, `250 queued as X`). */
  detail: string;
  /** Worth trying again (timeouts, 429, 5xx, SMTP 4xx). */
  retryable: boolean;
  /** From `Retry-After` or the receiver's own rate-limit answer. */
  retryAfterMs?: number;
}

/** One configured channel (`alerts.channels.NAME`). */
export interface Notifier {
  readonly name: string;
  readonly type: 'email' | 'wecom' | 'dingtalk' | 'feishu' | 'webhook';
  /**
   * Sends one notification. Never throws for a receiver's failure (that is a `SendResult` with
   * `ok: false`); honours `signal` (the dispatcher's timeout).
   */
  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult>;
}
