import { pino, type Logger } from 'pino';
import type {
  Aggregation,
  AlertNotification,
  MetricReader,
  Notifier,
  SendResult,
} from '../../types.js';

/** The time series' side of the seam: values the test sets, per metric. */
export class FakeReader implements MetricReader {
  readonly values = new Map<string, number | undefined>();
  readonly reads: Array<{
    metric: string;
    aggregation: Aggregation;
    windowMs: number;
    at: number;
  }> = [];

  constructor(
    private readonly metrics: Record<string, readonly Aggregation[]> = {
      cpu_percent: ['avg', 'max', 'last'],
      request_latency_ms: ['avg', 'p50', 'p90', 'p95', 'p99'],
      error_rate_percent: ['avg', 'last'],
    },
    private readonly clock: () => number = Date.now,
  ) {}

  set(metric: string, value: number | undefined): void {
    this.values.set(metric, value);
  }

  read(metric: string, aggregation: Aggregation, windowMs: number): number | undefined {
    this.reads.push({ metric, aggregation, windowMs, at: this.clock() });
    return this.values.get(metric);
  }

  supports(metric: string, aggregation: Aggregation): boolean {
    return this.metrics[metric]?.includes(aggregation) ?? false;
  }

  metricNames(): readonly string[] {
    return Object.keys(this.metrics);
  }
}

type Behaviour = (notification: AlertNotification, signal: AbortSignal) => Promise<SendResult>;

/** The notifiers' side of the seam: records each send and answers as the test says. */
export class FakeNotifier implements Notifier {
  readonly sends: Array<{ notification: AlertNotification; signal: AbortSignal; at: number }> = [];
  /** Answers for the next sends, in order; then `otherwise`. */
  readonly script: Behaviour[] = [];
  otherwise: Behaviour = async () => ({ ok: true, detail: 'errcode 0 ok', retryable: false });

  constructor(
    readonly name: string,
    readonly type: Notifier['type'] = 'webhook',
    private readonly clock: () => number = Date.now,
  ) {}

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    this.sends.push({ notification, signal, at: this.clock() });
    const behaviour = this.script.shift() ?? this.otherwise;
    return behaviour(notification, signal);
  }

  /** Rules of each send, e.g. [['cpu-high'], ['a', 'b']]. */
  get rulesSent(): string[][] {
    return this.sends.map((send) => send.notification.alerts.map((alert) => alert.rule));
  }
}

export const answer =
  (result: Partial<SendResult>): Behaviour =>
  async () => ({
    ok: false,
    detail: 'scripted',
    retryable: false,
    ...result,
  });

/** Never answers (and ignores its signal): the notifier that hangs. */
export const hang: Behaviour = () => new Promise<SendResult>(() => {});

/** A logger whose lines the test can read. */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}
