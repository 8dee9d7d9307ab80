import type { Logger } from 'pino';
import type { Clock } from '../../util/ids.js';
import type { MetricReader, Notifier } from '../types.js';
import type { ChannelLimits, ChannelStats } from './channel-sender.js';
import { defaultRuleSet } from './default-rules.js';
import { AlertDispatcher } from './dispatcher.js';
import { AlertEngine, type ReloadSummary } from './evaluator.js';
import { loadRulesFile } from './rule-file.js';
import { formatRuleIssue, type RuleSet } from './rule-set.js';
import type { AlertEngineSnapshot } from './snapshot.js';
import type { Timers } from './timers.js';

export interface LoadAlertRulesOptions {
  /** The rules file; undefined: the built-in defaults. A file replaces the defaults entirely. */
  path?: string | undefined;
  reader: Pick<MetricReader, 'supports' | 'metricNames'>;
  /** The configured channel names. */
  channels: Iterable<string>;
  /** Warnings (dropped default channels, suspicious rules) are logged here. */
  logger: Logger;
}

/**
 * The rules to run: the file at `path`, else the built-in defaults. Throws `RulesFileError` (with
 * every problem's rule, key, reason and line) when the file is invalid; logs warnings.
 */
export async function loadAlertRules(options: LoadAlertRulesOptions): Promise<RuleSet> {
  const context = { reader: options.reader, channels: [...options.channels] };
  const rules =
    options.path === undefined
      ? defaultRuleSet(context)
      : await loadRulesFile(options.path, context);
  for (const warning of rules.warnings) {
    options.logger.warn(
      { rule: warning.rule, field: warning.field },
      formatRuleIssue(rules.source, warning),
    );
  }
  return rules;
}

export interface AlertingOptions {
  rules: RuleSet;
  reader: MetricReader;
  notifiers: ReadonlyMap<string, Notifier> | readonly Notifier[];
  logger: Logger;
  /** Per channel name, limits that differ from the defaults (see `ChannelLimits`). */
  channels?: Readonly<Record<string, Partial<ChannelLimits>>> | undefined;
  externalUrl?: string | undefined;
  /** The `instance` label (default: the host name). */
  instance?: string | undefined;
  /** Transitions kept for the admin view (default 50). */
  historySize?: number | undefined;
  /** Grace for sends in flight at `close()`, in milliseconds (default 2000). */
  closeGraceMs?: number | undefined;
  clock?: Clock | undefined;
  timers?: Timers | undefined;
  random?: (() => number) | undefined;
}

/** GET /admin/alerts: rules, states, recent transitions and per-channel delivery counters. */
export interface AlertsSnapshot extends AlertEngineSnapshot {
  channels: ChannelStats[];
}

/**
 * The engine and the dispatcher wired together: the engine's notifications go to the dispatcher,
 * the dispatcher's outcomes come back to the engine's per-rule view.
 */
export class Alerting {
  readonly engine: AlertEngine;
  readonly dispatcher: AlertDispatcher;

  constructor(private readonly options: AlertingOptions) {
    const shared = { logger: options.logger, clock: options.clock, timers: options.timers };
    this.dispatcher = new AlertDispatcher({
      ...shared,
      notifiers: options.notifiers,
      channels: options.channels,
      externalUrl: options.externalUrl,
      random: options.random,
      closeGraceMs: options.closeGraceMs,
      onDelivery: (report) => this.engine.recordDelivery(report),
    });
    this.engine = new AlertEngine({
      ...shared,
      rules: options.rules,
      reader: options.reader,
      sink: this.dispatcher,
      instance: options.instance,
      historySize: options.historySize,
    });
  }

  start(): void {
    this.engine.start();
  }

  /** Swaps in new rules, keeping the state of rules whose condition did not change. */
  reload(rules: RuleSet): ReloadSummary {
    return this.engine.reload(rules);
  }

  /**
   * Reads `path` (undefined: the built-in defaults) and reloads. An invalid file throws
   * `RulesFileError` and the rules in force stay.
   */
  async reloadFrom(path: string | undefined): Promise<ReloadSummary> {
    const rules = await loadAlertRules({
      path,
      reader: this.options.reader,
      channels: this.dispatcher.channelNames(),
      logger: this.options.logger,
    });
    return this.reload(rules);
  }

  snapshot(): AlertsSnapshot {
    return { ...this.engine.snapshot(), channels: this.dispatcher.stats() };
  }

  /** Stops evaluating, then closes the channels (sends in flight get the grace period). */
  async close(): Promise<void> {
    this.engine.stop();
    await this.dispatcher.close();
  }
}
