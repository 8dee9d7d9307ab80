import type { AlertInstance, AlertNotification, SendResult } from '../types.js';

/** What the engine hands on: one alert and the channels its rule notifies. */
export interface AlertEvent {
  alert: AlertInstance;
  channels: readonly string[];
}

/**
 * Where the engine puts its events: the dispatcher. `submit` must return at once (queue, never
 * send inline): the engine calls it from its evaluation tick and never awaits anything.
 */
export interface AlertSink {
  submit(events: readonly AlertEvent[]): void;
}

/** The outcome of one notification on one channel, after its last attempt. */
export interface DeliveryReport {
  channel: string;
  notification: AlertNotification;
  result: SendResult;
  /** Attempts made, retries included (0 when it never reached the notifier). */
  attempts: number;
  /** When the outcome was known, milliseconds since the epoch. */
  at: number;
}
