import type { Logger } from 'pino';
import type { Clock } from '../../util/ids.js';
import type { AlertInstance, Notifier } from '../types.js';
import { ChannelSender, type ChannelLimits, type ChannelStats } from './channel-sender.js';
import type { AlertEvent, AlertSink, DeliveryReport } from './events.js';
import { systemTimers, type Timers } from './timers.js';

/**
 * Sends per minute by channel type, when a channel sets none: WeCom and DingTalk robots take 20
 * a minute, Feishu's 100; mail servers and webhooks get 60 so a flapping rule cannot flood them.
 */
export const defaultPerMinute: Readonly<Record<Notifier['type'], number>> = {
  wecom: 20,
  dingtalk: 20,
  feishu: 100,
  email: 60,
  webhook: 60,
};

/** Everything but the rate, which depends on the channel's type. */
export const defaultChannelLimits: Omit<ChannelLimits, 'perMinute'> = {
  queueSize: 100,
  groupWaitMs: 0,
  sendTimeoutMs: 10_000,
  maxAttempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 120_000,
};

export interface AlertDispatcherOptions {
  /** The configured channels: a map by channel name, or a list (each under its `name`). */
  notifiers: ReadonlyMap<string, Notifier> | readonly Notifier[];
  logger: Logger;
  /** Per channel name, what differs from the defaults (e.g. `{ wecom: { perMinute: 20 } }`). */
  channels?: Readonly<Record<string, Partial<ChannelLimits>>> | undefined;
  /** Sent along as `AlertNotification.externalUrl`. */
  externalUrl?: string | undefined;
  /** Each notification's final outcome on each channel (the engine's `recordDelivery`). */
  onDelivery?: ((report: DeliveryReport) => void) | undefined;
  /** How long `close()` lets sends in flight finish, in milliseconds (default 2000). */
  closeGraceMs?: number | undefined;
  clock?: Clock | undefined;
  timers?: Timers | undefined;
  /** A number in [0, 1), for backoff jitter (default `Math.random`). */
  random?: (() => number) | undefined;
}

/**
 * Takes the engine's alerts and sends them through the channels' notifiers. `submit` only sorts
 * alerts into per-channel queues and returns; sending runs on its own promise chain per channel,
 * so nothing the engine or a request does ever waits for a receiver.
 *
 * Alerts handed over in one `submit` (one evaluation tick) for the same channel and status go out
 * as one `AlertNotification`; see `ChannelLimits` for queueing, rate, timeout and retry settings.
 */
export class AlertDispatcher implements AlertSink {
  private readonly senders = new Map<string, ChannelSender>();
  private readonly abandon = new AbortController();
  private readonly unknownChannels = new Set<string>();
  private closed: Promise<void> | undefined;

  constructor(private readonly options: AlertDispatcherOptions) {
    const notifiers =
      options.notifiers instanceof Map
        ? [...(options.notifiers as ReadonlyMap<string, Notifier>).entries()]
        : (options.notifiers as readonly Notifier[]).map(
            (notifier) => [notifier.name, notifier] as const,
          );
    for (const [channel, notifier] of notifiers) {
      const overrides = options.channels?.[channel] ?? {};
      const limits: ChannelLimits = {
        perMinute: defaultPerMinute[notifier.type],
        ...defaultChannelLimits,
        ...definedOnly(overrides),
      };
      const named: Notifier = notifier.name === channel ? notifier : renamed(notifier, channel);
      this.senders.set(
        channel,
        new ChannelSender({
          notifier: named,
          limits,
          logger: options.logger,
          clock: options.clock ?? Date.now,
          timers: options.timers ?? systemTimers,
          random: options.random ?? Math.random,
          externalUrl: options.externalUrl,
          abandon: this.abandon.signal,
          onDelivery: options.onDelivery ?? (() => {}),
        }),
      );
    }
  }

  /** The configured channel names (what rules are checked against). */
  channelNames(): string[] {
    return [...this.senders.keys()];
  }

  submit(events: readonly AlertEvent[]): void {
    const byChannel = new Map<string, AlertInstance[]>();
    for (const event of events) {
      for (const channel of new Set(event.channels)) {
        const alerts = byChannel.get(channel) ?? [];
        alerts.push(event.alert);
        byChannel.set(channel, alerts);
      }
    }
    for (const [channel, alerts] of byChannel) {
      const sender = this.senders.get(channel);
      if (sender) {
        sender.add(alerts);
      } else if (!this.unknownChannels.has(channel) && this.unknownChannels.size < 100) {
        // Rules are checked against the channels when they load; this is a wiring mistake.
        this.unknownChannels.add(channel);
        this.options.logger.error(
          { channel },
          'alert for a channel that is not configured: dropped',
        );
      }
    }
  }

  stats(): ChannelStats[] {
    return [...this.senders.values()].map((sender) => sender.stats());
  }

  /**
   * Stops every channel: no new alerts, waits end at once, sends in flight get `closeGraceMs`
   * and are then abandoned; queued notifications are dropped (and counted). Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    const graceMs = this.options.closeGraceMs ?? 2000;
    const senders = [...this.senders.values()];
    // Each channel waits at most `graceMs`, all at once: the whole close takes no longer.
    await Promise.all(senders.map((sender) => sender.close(graceMs)));
    this.abandon.abort();
    await Promise.all(senders.map((sender) => sender.drained()));
  }
}

function definedOnly(overrides: Partial<ChannelLimits>): Partial<ChannelLimits> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}

/** A notifier registered under another name than its own (the map's key wins). */
function renamed(notifier: Notifier, name: string): Notifier {
  return {
    name,
    type: notifier.type,
    send: (notification, signal) => notifier.send(notification, signal),
  };
}
