import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../../util/ids.js';
import type { AlertInstance, MetricReader } from '../types.js';
import { alertInstance, fingerprintOf } from './alert-instance.js';
import { BoundedRing } from './bounded-ring.js';
import type { AlertEvent, AlertSink, DeliveryReport } from './events.js';
import { conditionKey, type AlertRule } from './rule.js';
import type { RuleSet } from './rule-set.js';
import {
  ruleView,
  stateView,
  type AlertEngineSnapshot,
  type AlertTransition,
  type DeliveryView,
} from './snapshot.js';
import { initialState, step, type RuleState } from './state-machine.js';
import { systemTimers, type Cancel, type Timers } from './timers.js';

export interface AlertEngineOptions {
  rules: RuleSet;
  /** The time series. Read synchronously; a read that throws counts as no data. */
  reader: MetricReader;
  /** The dispatcher; never awaited. */
  sink: AlertSink;
  logger: Logger;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: Clock | undefined;
  timers?: Timers | undefined;
  /** The `instance` label and part of the fingerprint (default: the host name). */
  instance?: string | undefined;
  /** The `service` label (default `assistd`). */
  service?: string | undefined;
  /** Transitions kept for the admin view (default 50). */
  historySize?: number | undefined;
}

/** What a reload did, by rule name. */
export interface ReloadSummary {
  /** Same condition: state kept (channels, severity, texts, schedule may have changed). */
  kept: string[];
  added: string[];
  /** Condition changed: state restarted; a firing alert was resolved first. */
  changed: string[];
  /** Gone from the set; a firing alert was resolved. */
  removed: string[];
}

interface RuleRuntime {
  rule: AlertRule;
  condition: string;
  fingerprint: string;
  state: RuleState;
  nextDueAt: number | undefined;
  error: string | undefined;
  deliveries: Map<string, DeliveryView>;
}

/**
 * Rules due within this many milliseconds of each other are evaluated in one tick, so what they
 * raise reaches the dispatcher as one batch (one grouped message per channel).
 */
const tickSlackMs = 250;

/** Tolerance for `for` and `repeat_interval`: timers fire a little late or early by the clock. */
const stepSlack = (rule: AlertRule) => Math.min(1000, rule.everyMs / 10);

/**
 * Evaluates alert rules on their own schedules and decides what to notify. One timer serves every
 * rule: it wakes for the earliest due rule and evaluates all rules due then. Schedules are aligned
 * to the start time (a 1m and a 5m rule meet every 5 minutes), late ticks skip missed evaluations
 * rather than catching up in a burst, and the first evaluation comes one `every` after start, when
 * the window has data.
 *
 * Evaluation is synchronous and never waits for a send: notifications go to the sink, which
 * queues them. So a notifier that hangs or fails can delay neither a request nor the next
 * evaluation, and state changes even when every send fails.
 */
export class AlertEngine {
  private runtimes = new Map<string, RuleRuntime>();
  private readonly history: BoundedRing<AlertTransition>;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly instance: string;
  private readonly service: string;
  private source: string;
  private digest: string;
  private origin: number | undefined;
  private cancelTimer: Cancel | undefined;

  constructor(private readonly options: AlertEngineOptions) {
    this.clock = options.clock ?? Date.now;
    this.timers = options.timers ?? systemTimers;
    this.instance = options.instance ?? hostname();
    this.service = options.service ?? 'assistd';
    this.history = new BoundedRing(options.historySize ?? 50);
    this.source = options.rules.source;
    this.digest = options.rules.digest;
    const now = this.clock();
    for (const rule of options.rules.rules) this.runtimes.set(rule.name, this.fresh(rule, now));
  }

  /** Starts the schedules; the first evaluation of each rule comes one `every` from now. */
  start(): void {
    if (this.origin !== undefined) return;
    this.origin = this.clock();
    for (const runtime of this.runtimes.values()) {
      runtime.nextDueAt = this.nextDue(runtime, this.origin);
    }
    this.arm();
  }

  /** Stops evaluating; state is kept (`start()` resumes). */
  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.origin = undefined;
    for (const runtime of this.runtimes.values()) runtime.nextDueAt = undefined;
  }

  /**
   * Swaps in a new rule set. A rule whose condition (metric, aggregation, window, comparison,
   * threshold, for) is unchanged keeps its state; its other fields take effect at once. A rule
   * removed, or whose condition changed, while firing is resolved first, so no receiver keeps an
   * alert that nothing will ever end.
   */
  reload(rules: RuleSet): ReloadSummary {
    const now = this.clock();
    const summary: ReloadSummary = { kept: [], added: [], changed: [], removed: [] };
    const events: AlertEvent[] = [];
    const next = new Map<string, RuleRuntime>();
    for (const rule of rules.rules) {
      const previous = this.runtimes.get(rule.name);
      if (previous && previous.condition === conditionKey(rule)) {
        const deliveries = new Map(
          [...previous.deliveries].filter(([channel]) => rule.channels.includes(channel)),
        );
        const runtime: RuleRuntime = { ...previous, rule, deliveries };
        if (previous.rule.everyMs !== rule.everyMs && this.origin !== undefined) {
          runtime.nextDueAt = this.nextDue(runtime, now);
        }
        next.set(rule.name, runtime);
        summary.kept.push(rule.name);
        continue;
      }
      if (previous) {
        events.push(...this.end(previous, now, 'rule changed'));
        summary.changed.push(rule.name);
      } else {
        summary.added.push(rule.name);
      }
      const runtime = this.fresh(rule, now);
      if (this.origin !== undefined) runtime.nextDueAt = this.nextDue(runtime, now);
      next.set(rule.name, runtime);
    }
    for (const [name, previous] of this.runtimes) {
      if (next.has(name)) continue;
      events.push(...this.end(previous, now, 'rule removed'));
      summary.removed.push(name);
    }
    this.runtimes = next;
    this.source = rules.source;
    this.digest = rules.digest;
    this.submit(events);
    if (this.origin !== undefined) this.arm();
    return summary;
  }

  /** Records a channel's answer for the admin view (the dispatcher's `onDelivery`). */
  recordDelivery(report: DeliveryReport): void {
    for (const alert of report.notification.alerts) {
      const runtime = this.runtimes.get(alert.rule);
      // Only current rules and channels: the map stays bounded by the rule's channel list.
      if (!runtime || runtime.fingerprint !== alert.fingerprint) continue;
      if (!runtime.rule.channels.includes(report.channel)) continue;
      runtime.deliveries.set(report.channel, {
        at: report.at,
        ok: report.result.ok,
        status: report.result.status,
        detail: report.result.detail,
        attempts: report.attempts,
        notification: report.notification.status,
      });
    }
  }

  /** Rules, states and recent transitions, for GET /admin/alerts. */
  snapshot(): AlertEngineSnapshot {
    return {
      at: this.clock(),
      source: this.source,
      digest: this.digest,
      instance: this.instance,
      running: this.origin !== undefined,
      rules: [...this.runtimes.values()].map((runtime) => ({
        rule: ruleView(runtime.rule),
        state: stateView(runtime.state, {
          fingerprint: runtime.fingerprint,
          nextEvaluationAt: runtime.nextDueAt,
          error: runtime.error,
          deliveries: runtime.deliveries,
        }),
      })),
      history: this.history.toArray(),
    };
  }

  private fresh(rule: AlertRule, now: number): RuleRuntime {
    return {
      rule,
      condition: conditionKey(rule),
      fingerprint: fingerprintOf(rule.name, this.instance),
      state: initialState(now),
      nextDueAt: undefined,
      error: undefined,
      deliveries: new Map(),
    };
  }

  /** The first slot of the rule's schedule after `now` (slots: origin + k × every). */
  private nextDue(runtime: RuleRuntime, now: number): number {
    const origin = this.origin ?? now;
    const every = runtime.rule.everyMs;
    return origin + (Math.floor((now + tickSlackMs - origin) / every) + 1) * every;
  }

  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const now = this.clock();
    let earliest = Infinity;
    for (const runtime of this.runtimes.values()) {
      // A wall clock set back would otherwise postpone the rule by the size of the jump.
      if (runtime.nextDueAt === undefined || runtime.nextDueAt - now > runtime.rule.everyMs) {
        runtime.nextDueAt = this.nextDue(runtime, now);
      }
      earliest = Math.min(earliest, runtime.nextDueAt);
    }
    if (earliest === Infinity) return;
    this.cancelTimer = this.timers.after(Math.max(0, earliest - now), () => this.tick());
  }

  private tick(): void {
    this.cancelTimer = undefined;
    const now = this.clock();
    const events: AlertEvent[] = [];
    for (const runtime of this.runtimes.values()) {
      if (runtime.nextDueAt === undefined || runtime.nextDueAt > now + tickSlackMs) continue;
      events.push(...this.evaluate(runtime, now));
      runtime.nextDueAt = this.nextDue(runtime, now);
    }
    this.submit(events);
    this.arm();
  }

  private evaluate(runtime: RuleRuntime, now: number): AlertEvent[] {
    const { rule } = runtime;
    let value: number | undefined;
    try {
      value = this.options.reader.read(rule.metric, rule.aggregation, rule.windowMs);
      runtime.error = undefined;
    } catch (error) {
      runtime.error = error instanceof Error ? error.message : String(error);
      this.options.logger.warn(
        { rule: rule.name, err: error },
        'alert rule: reading the metric failed',
      );
    }
    const result = step(rule, runtime.state, value, now, stepSlack(rule));
    runtime.state = result.state;
    if (result.from !== undefined) {
      this.transition(runtime, result.from, now);
    }
    if (result.notify === undefined || rule.channels.length === 0) return [];
    return [{ alert: this.alertOf(runtime, result.notify, now), channels: rule.channels }];
  }

  private transition(runtime: RuleRuntime, from: RuleState['state'], now: number, reason?: string) {
    const to = runtime.state.state;
    const value = runtime.state.value;
    this.history.push({ rule: runtime.rule.name, from, to, at: now, value, reason });
    const level = to === 'firing' ? 'warn' : 'info';
    this.options.logger[level]({ rule: runtime.rule.name, from, to, value, reason }, `alert ${to}`);
  }

  /** Resolves a firing alert whose rule goes away, and returns the resolution to send. */
  private end(runtime: RuleRuntime, now: number, reason: string): AlertEvent[] {
    if (runtime.state.state !== 'firing') return [];
    runtime.state = { ...runtime.state, state: 'inactive', since: now, resolvedAt: now };
    this.transition(runtime, 'firing', now, reason);
    if (runtime.rule.channels.length === 0) return [];
    const alert = this.alertOf(runtime, 'resolved', now);
    return [
      {
        alert: { ...alert, summary: `${alert.summary} (${reason})` },
        channels: runtime.rule.channels,
      },
    ];
  }

  private alertOf(runtime: RuleRuntime, status: 'firing' | 'resolved', now: number): AlertInstance {
    const labels = { instance: this.instance, service: this.service };
    return alertInstance(runtime.rule, runtime.state, status, now, runtime.fingerprint, labels);
  }

  private submit(events: readonly AlertEvent[]): void {
    if (events.length === 0) return;
    try {
      this.options.sink.submit(events);
    } catch (error) {
      // The state already changed; a broken sink costs the message, never the state.
      this.options.logger.error({ err: error }, 'alert notifications could not be queued');
    }
  }
}
