import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../util/ids.js';
import type { AlertInstance, AlertNotification, Notifier, SendResult } from '../types.js';
import type { DeliveryReport } from './events.js';
import { RateWindow } from './rate-window.js';
import { retryDelayMs } from './retry-delay.js';
import { sendOnce } from './send-once.js';
import { sleep, type Cancel, type Timers } from './timers.js';

/** How one channel sends. Times in milliseconds. */
export interface ChannelLimits {
  /** Most send attempts in any 60 s (WeCom and DingTalk robots take 20). */
  perMinute: number;
  /** Notifications waiting to be sent; past it the oldest is dropped (default 100). */
  queueSize: number;
  /** How long a group stays open for more alerts of the same status (default 0: one tick). */
  groupWaitMs: number;
  /** One attempt's limit; then the notifier is abandoned (default 10 s). */
  sendTimeoutMs: number;
  /** Attempts per notification, the first included (default 4). */
  maxAttempts: number;
  /** Backoff before the first retry; doubles each retry, with jitter (default 1 s). */
  baseDelayMs: number;
  /** Longest backoff (default 60 s). */
  maxDelayMs: number;
  /** Longest `retryAfterMs` honoured; a receiver asking for more fails the send (default 2 min). */
  maxRetryAfterMs: number;
}

/** Counters and the last outcome of one channel, for GET /admin/alerts. */
export interface ChannelStats {
  channel: string;
  type: Notifier['type'];
  perMinute: number;
  /** Notifications delivered. */
  sent: number;
  /** Notifications given up on: non-retryable failure, attempts exhausted, or closed mid-send. */
  failed: number;
  /** Notifications never attempted: queue overflow, or still queued at close. */
  dropped: number;
  /** Retry attempts made. */
  retried: number;
  queued: number;
  sending: boolean;
  /** The last notification's final outcome; `status` is the receiver's (HTTP or SMTP) code. */
  last?:
    | (SendResult & { at: number; rules: string[]; attempts: number; notification: Status })
    | undefined;
}

export interface ChannelSenderOptions {
  notifier: Notifier;
  limits: ChannelLimits;
  logger: Logger;
  clock: Clock;
  timers: Timers;
  /** A number in [0, 1), for backoff jitter. */
  random: () => number;
  externalUrl?: string | undefined;
  /** Cuts in-flight sends short at the end of the close grace period. */
  abandon: AbortSignal;
  onDelivery: (report: DeliveryReport) => void;
}

type Status = AlertNotification['status'];

/**
 * One channel: groups alerts into notifications, queues them (bounded), and sends one at a time
 * within the rate limit, retrying what is worth retrying. One send at a time keeps messages in
 * order and makes the rate limit exact; a retry holds the channel, but never longer than
 * maxAttempts × (sendTimeoutMs + maxDelayMs).
 */
export class ChannelSender {
  private readonly queue: AlertNotification[] = [];
  private readonly groups = new Map<
    Status,
    { alerts: Map<string, AlertInstance>; cancel: Cancel }
  >();
  private readonly pauses = new Set<Cancel>();
  private readonly window: RateWindow;
  private readonly counts = { sent: 0, failed: 0, dropped: 0, retried: 0 };
  private last: ChannelStats['last'];
  private pumping: Promise<void> | undefined;
  private closing = false;

  constructor(private readonly options: ChannelSenderOptions) {
    this.window = new RateWindow(options.limits.perMinute);
  }

  get name(): string {
    return this.options.notifier.name;
  }

  /** Alerts raised in one tick for this channel: one notification per status (or group wait). */
  add(alerts: readonly AlertInstance[]): void {
    // Resolutions first: when one alert ends and another starts in the same tick, the reader
    // sees the old one close before the new one opens.
    for (const status of ['resolved', 'firing'] as const) {
      const matching = alerts.filter((alert) => alert.status === status);
      if (matching.length === 0) continue;
      if (this.closing) {
        this.counts.dropped++;
        continue;
      }
      if (this.options.limits.groupWaitMs <= 0) {
        this.enqueue(this.notificationOf(status, matching));
        continue;
      }
      let group = this.groups.get(status);
      if (!group) {
        const alertsByRule = new Map<string, AlertInstance>();
        const cancel = this.options.timers.after(this.options.limits.groupWaitMs, () => {
          this.groups.delete(status);
          this.enqueue(this.notificationOf(status, [...alertsByRule.values()]));
        });
        group = { alerts: alertsByRule, cancel };
        this.groups.set(status, group);
      }
      for (const alert of matching) group.alerts.set(alert.fingerprint, alert);
    }
  }

  stats(): ChannelStats {
    return {
      channel: this.name,
      type: this.options.notifier.type,
      perMinute: this.options.limits.perMinute,
      ...this.counts,
      queued: this.queue.length,
      sending: this.pumping !== undefined,
      last: this.last,
    };
  }

  /**
   * Stops taking alerts, ends rate-limit and backoff waits, waits up to `graceMs` for the send in
   * flight, then abandons it (the caller aborts `abandon`). Whatever is still queued is dropped.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const group of this.groups.values()) {
      group.cancel();
      this.counts.dropped++;
    }
    this.groups.clear();
    for (const cancel of this.pauses) cancel();
    if (!this.pumping) return;
    const grace = sleep(this.options.timers, graceMs);
    await Promise.race([this.pumping, grace.done]);
    grace.cancel();
  }

  /** Resolves once the send loop has stopped (after `abandon` is aborted). */
  async drained(): Promise<void> {
    await this.pumping;
    this.counts.dropped += this.queue.splice(0).length;
  }

  private notificationOf(status: Status, alerts: readonly AlertInstance[]): AlertNotification {
    const rules = [...new Set(alerts.map((alert) => alert.rule))].sort();
    let key = `${this.name}:${rules.join(',')}`;
    if (key.length > 256) {
      key = `${this.name}:${createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 16)}`;
    }
    const notification: AlertNotification = { status, groupKey: key, alerts };
    if (this.options.externalUrl !== undefined) notification.externalUrl = this.options.externalUrl;
    return notification;
  }

  private enqueue(notification: AlertNotification): void {
    if (this.closing) {
      this.counts.dropped++;
      return;
    }
    if (this.queue.length >= this.options.limits.queueSize) {
      const oldest = this.queue.shift()!;
      this.counts.dropped++;
      this.options.logger.warn(
        { channel: this.name, groupKey: oldest.groupKey, dropped: this.counts.dropped },
        'alert channel queue full: dropped the oldest notification',
      );
      this.report(oldest, { ok: false, retryable: false, detail: 'dropped: queue full' }, 0);
    }
    this.queue.push(notification);
    this.startPump();
  }

  private startPump(): void {
    if (this.pumping || this.closing) return;
    this.pumping = this.pump()
      .catch((error: unknown) => {
        this.options.logger.error({ err: error, channel: this.name }, 'alert channel failed');
      })
      .finally(() => {
        this.pumping = undefined;
        // Something queued between the loop's last look and here must not wait for the next.
        if (this.queue.length > 0) this.startPump();
      });
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.closing) return;
      const notification = this.queue.shift();
      if (!notification) return;
      await this.deliver(notification);
    }
  }

  private async deliver(notification: AlertNotification): Promise<void> {
    const { limits, notifier, clock } = this.options;
    let attempts = 0;
    for (;;) {
      if (!(await this.waitForSlot())) {
        if (attempts === 0) {
          this.counts.dropped++;
          return;
        }
        this.counts.failed++;
        return this.report(
          notification,
          { ok: false, retryable: false, detail: 'closed' },
          attempts,
        );
      }
      attempts++;
      this.window.record(clock());
      const result = await sendOnce(
        notifier,
        notification,
        limits.sendTimeoutMs,
        this.options.timers,
        this.options.abandon,
      );
      if (result.ok) {
        this.counts.sent++;
        return this.report(notification, result, attempts);
      }
      const delayMs =
        result.retryable && attempts < limits.maxAttempts
          ? retryDelayMs(result, attempts, limits, this.options.random)
          : undefined;
      if (delayMs === undefined || this.closing) {
        this.counts.failed++;
        this.options.logger.warn(
          { channel: this.name, groupKey: notification.groupKey, attempts, detail: result.detail },
          'alert notification failed',
        );
        return this.report(notification, result, attempts);
      }
      this.counts.retried++;
      this.options.logger.info(
        { channel: this.name, attempt: attempts, delayMs, detail: result.detail },
        'alert notification failed; retrying',
      );
      if (!(await this.pause(delayMs))) {
        this.counts.failed++;
        return this.report(notification, result, attempts);
      }
    }
  }

  /** Waits until the rate limit allows a send; false when closing cut the wait short. */
  private async waitForSlot(): Promise<boolean> {
    for (;;) {
      if (this.closing) return false;
      const waitMs = this.window.waitMs(this.options.clock());
      if (waitMs === 0) return true;
      if (!(await this.pause(waitMs))) return false;
    }
  }

  private async pause(delayMs: number): Promise<boolean> {
    const nap = sleep(this.options.timers, delayMs);
    this.pauses.add(nap.cancel);
    try {
      return (await nap.done) && !this.closing;
    } finally {
      this.pauses.delete(nap.cancel);
    }
  }

  private report(notification: AlertNotification, result: SendResult, attempts: number): void {
    const at = this.options.clock();
    const rules = notification.alerts.map((alert) => alert.rule);
    this.last = { ...result, at, rules, attempts, notification: notification.status };
    try {
      this.options.onDelivery({ channel: this.name, notification, result, attempts, at });
    } catch (error) {
      this.options.logger.error(
        { err: error, channel: this.name },
        'alert delivery listener failed',
      );
    }
  }
}
