import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { buildNotifiers } from '../monitor/alerting-runtime.js';
import {
  defaultRuleSet,
  formatRuleIssue,
  loadRulesFile,
  RulesFileError,
  type RuleSet,
} from '../monitor/alerts/index.js';
import { seriesCatalog } from '../monitor/series.js';
import type { AlertNotification } from '../monitor/types.js';
import { UsageError, type CliIo } from './io.js';

interface ConfigFlags {
  config?: string;
}

/**
 * `assistd alerts …`: check a rules file, send a test message through a channel, export the rules
 * as a PrometheusRule or the series as a Grafana dashboard. Offline: reads the config file only.
 */
export function alertsCommand(io: CliIo): Command {
  const alerts = new Command('alerts').description(
    'alert rules and channels: check rules, test a channel, export to Prometheus or Grafana',
  );
  const configOption = () => new Option('--config <file>', 'YAML config file (env ASSISTD_CONFIG)');

  alerts
    .command('check')
    .description('check a rules file against the metrics and the configured channels')
    .argument('[file]', 'rules file (default: alerts.rules_file of the config, else the built-ins)')
    .addOption(configOption())
    .action(async (file: string | undefined, flags: ConfigFlags) => {
      const config = configFrom(flags, io);
      const rules = await rulesOf(config, io, file);
      for (const rule of rules.rules) {
        io.stdout(
          `${rule.name}: ${rule.aggregation} ${rule.metric} over ${seconds(rule.windowMs)} ` +
            `${rule.comparison} ${rule.threshold}, every ${seconds(rule.everyMs)}, ` +
            `for ${seconds(rule.forMs)} → ${rule.channels.join(', ') || '(no channel)'}\n`,
        );
      }
      io.stdout(`${rules.source}: valid, ${rules.rules.length} rules\n`);
    });

  alerts
    .command('test')
    .description("send a test message through a channel and print the receiver's answer")
    .requiredOption('--channel <name>', 'a channel of alerts.channels')
    .addOption(configOption())
    .option('--timeout <seconds>', 'give up after this long', '15')
    .action(async (flags: ConfigFlags & { channel: string; timeout: string }) => {
      const config = configFrom(flags, io);
      const timeoutMs = Number(flags.timeout) * 1000;
      if (!(timeoutMs > 0 && timeoutMs <= 300_000)) {
        throw new UsageError('--timeout must be a number of seconds from 0 to 300');
      }
      const names = Object.keys(config.alerts.channels);
      if (!names.includes(flags.channel)) {
        throw new UsageError(
          `no channel "${flags.channel}" in alerts.channels (configured: ${names.join(', ') || 'none'})`,
        );
      }
      let notifiers;
      try {
        notifiers = buildNotifiers(config);
      } catch (error) {
        throw new UsageError(`alerts.channels: ${(error as Error).message}`);
      }
      const notifier = notifiers.get(flags.channel)!;
      const result = await notifier.send(
        testNotification(flags.channel),
        AbortSignal.timeout(timeoutMs),
      );
      const status = result.status === undefined ? '' : ` ${result.status}`;
      io.stdout(
        `${flags.channel} (${notifier.type}):${status} ${result.ok ? 'delivered' : 'failed'}: ${result.detail}\n`,
      );
      if (!result.ok) throw new UsageError('the receiver did not accept the test message', 1);
    });

  alerts
    .command('export')
    .description('write the rules as a PrometheusRule, or a Grafana dashboard of the series')
    .addOption(
      new Option('--format <format>', 'what to write')
        .choices(['prometheus', 'grafana'])
        .makeOptionMandatory(),
    )
    .addOption(configOption())
    .option('--out <file>', 'write here instead of stdout')
    .option('--namespace <name>', 'PrometheusRule: metadata.namespace')
    .action(
      async (
        flags: ConfigFlags & { format: 'prometheus' | 'grafana'; out?: string; namespace?: string },
      ) => {
        const config = configFrom(flags, io);
        const { exportPrometheusRule, grafanaDashboard } =
          await import('../monitor/export/index.js');
        let text: string;
        if (flags.format === 'grafana') {
          text = `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
        } else {
          const rules = await rulesOf(config, io);
          const exported = exportPrometheusRule(
            rules.rules,
            flags.namespace === undefined ? {} : { namespace: flags.namespace },
          );
          for (const skipped of exported.skipped) {
            io.stderr(`skipped rule ${skipped.name}: ${skipped.reason}\n`);
          }
          text = exported.yaml;
        }
        if (flags.out === undefined) {
          io.stdout(text);
        } else {
          const path = resolve(io.cwd, flags.out);
          writeFileSync(path, text);
          io.stderr(`wrote ${path}\n`);
        }
      },
    );
  return alerts;
}

function configFrom(flags: ConfigFlags, io: CliIo): Readonly<Config> {
  return loadConfig({
    flags: flags.config === undefined ? {} : { config: flags.config },
    env: io.env,
    cwd: io.cwd,
    readSecrets: false,
  });
}

/** The rules in force for `config` (or `file`), checked as the server checks them. */
async function rulesOf(config: Readonly<Config>, io: CliIo, file?: string): Promise<RuleSet> {
  const path = file === undefined ? config.alerts.rules_file : resolve(io.cwd, file);
  const context = {
    reader: seriesCatalog,
    channels: Object.keys(config.alerts.channels),
  };
  try {
    const rules = path === undefined ? defaultRuleSet(context) : await loadRulesFile(path, context);
    for (const warning of rules.warnings) {
      io.stderr(`warning: ${formatRuleIssue(rules.source, warning)}\n`);
    }
    return rules;
  } catch (error) {
    if (error instanceof RulesFileError) throw new UsageError(error.message);
    throw error;
  }
}

function testNotification(channel: string): AlertNotification {
  const now = Date.now();
  return {
    status: 'firing',
    groupKey: `test:${channel}`,
    test: true,
    alerts: [
      {
        rule: 'assistd-test',
        status: 'firing',
        severity: 'info',
        metric: 'cpu_percent',
        aggregation: 'avg',
        comparison: '>',
        threshold: 85,
        value: 0,
        summary: `Test message from assistd to channel "${channel}": no action needed`,
        startsAt: now,
        fingerprint: '0000000000000000',
        labels: { alertname: 'assistd-test', severity: 'info', service: 'assistd' },
      },
    ],
  };
}

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}
