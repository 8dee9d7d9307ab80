import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AdminEvent } from '../security/audit/admin-event.js';
import { StartupError } from '../providers/startup-error.js';
import { SerialRunner } from '../util/serial-runner.js';
import { watchFiles } from '../util/watch-files.js';
import {
  Alerting,
  loadAlertRules,
  RulesFileError,
  type ChannelLimits,
  type ReloadSummary,
} from './alerts/index.js';
import { createNotifier } from './notifiers/index.js';
import type { MetricReader, Notifier } from './types.js';

/** What a rules reload did, for the audit log and the caller. */
export type RulesReload =
  | { type: 'loaded'; source: string; digest: string; summary: ReloadSummary }
  | { type: 'rejected'; source: string; reason: string };

/** The audit record of a rules reload (a configuration change, like a policy reload). */
export function rulesReloadEvent(event: RulesReload): AdminEvent {
  return {
    action: 'update:alert-rules',
    resource: '/admin/alerts',
    error: event.type === 'rejected' ? 'invalid_alert_rules' : null,
    details:
      event.type === 'loaded'
        ? { source: event.source, digest: event.digest }
        : { source: event.source },
  };
}

export interface AlertingRuntime {
  alerting: Alerting;
  /** Rereads the rules file (SIGHUP); an invalid file keeps the rules in force. */
  reload(): Promise<RulesReload | undefined>;
  close(): Promise<void>;
}

/** The configured channels as notifiers, by name. */
export function buildNotifiers(config: Readonly<Config>): Map<string, Notifier> {
  const notifiers = new Map<string, Notifier>();
  for (const [name, channel] of Object.entries(config.alerts.channels)) {
    notifiers.set(name, createNotifier(name, channel));
  }
  return notifiers;
}

/** Per-channel limits from `alerts.channel_limits` (seconds in the config, ms here). */
function channelLimits(config: Readonly<Config>): Record<string, Partial<ChannelLimits>> {
  const limits: Record<string, Partial<ChannelLimits>> = {};
  for (const [name, entry] of Object.entries(config.alerts.channel_limits)) {
    limits[name] = {
      ...(entry.per_minute !== undefined ? { perMinute: entry.per_minute } : {}),
      ...(entry.queue_size !== undefined ? { queueSize: entry.queue_size } : {}),
      ...(entry.group_wait_seconds !== undefined
        ? { groupWaitMs: entry.group_wait_seconds * 1000 }
        : {}),
      ...(entry.send_timeout_seconds !== undefined
        ? { sendTimeoutMs: entry.send_timeout_seconds * 1000 }
        : {}),
      ...(entry.max_attempts !== undefined ? { maxAttempts: entry.max_attempts } : {}),
    };
  }
  return limits;
}

/**
 * Starts the alert engine on the time series: the rules file (or the runbook's three defaults),
 * the configured channels, reloads when the file changes or on SIGHUP. A rules file or channel
 * that is invalid at start stops the start, naming the problem; later, an invalid file is logged
 * and the rules in force stay.
 */
export async function startAlerting(options: {
  config: Readonly<Config>;
  reader: MetricReader;
  logger: Logger;
  /** Told of each reload (the audit log records it). */
  onReload?: (event: RulesReload) => void;
}): Promise<AlertingRuntime> {
  const { config, reader, logger } = options;
  const path = config.alerts.rules_file;
  let notifiers: Map<string, Notifier>;
  try {
    notifiers = buildNotifiers(config);
  } catch (error) {
    throw new StartupError(`alerts.channels: ${(error as Error).message}`);
  }
  for (const name of Object.keys(config.alerts.channel_limits)) {
    if (!notifiers.has(name)) {
      throw new StartupError(`alerts.channel_limits names "${name}", which is not a channel`);
    }
  }
  let rules;
  try {
    rules = await loadAlertRules({ path, reader, channels: notifiers.keys(), logger });
  } catch (error) {
    if (error instanceof RulesFileError) throw new StartupError(error.message);
    throw error;
  }
  const alerting = new Alerting({
    rules,
    reader,
    notifiers,
    logger,
    channels: channelLimits(config),
    externalUrl: config.alerts.external_url,
  });
  alerting.start();
  logger.info(
    {
      rules: rules.rules.map((rule) => rule.name),
      channels: [...notifiers.keys()],
      source: rules.source,
    },
    'alert rules loaded',
  );

  const reloads = new SerialRunner<RulesReload | undefined>();
  const reload = () =>
    reloads.run(async () => {
      if (path === undefined) return undefined;
      let event: RulesReload;
      try {
        const summary = await alerting.reloadFrom(path);
        const { source, digest } = alerting.engine.snapshot();
        event = { type: 'loaded', source, digest, summary };
        logger.info({ source, ...summary }, 'alert rules reloaded');
      } catch (error) {
        const reason = (error as Error).message;
        event = { type: 'rejected', source: path, reason };
        logger.error(
          { source: path, reason },
          'alert rules file rejected; the rules in force stay',
        );
      }
      options.onReload?.(event);
      return event;
    });
  const stopWatching =
    path === undefined
      ? () => undefined
      : watchFiles([path], {
          logger,
          what: 'the alert rules file',
          onChange: () => void reload(),
        });
  return {
    alerting,
    reload,
    close: async () => {
      stopWatching();
      await alerting.close();
    },
  };
}
