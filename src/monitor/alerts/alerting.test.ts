import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeNotifier, FakeReader, hang, memoryLogger } from './__fixtures__/fakes.js';
import { ManualTimers } from './__fixtures__/manual-timers.js';
import { cpuRule, ruleSet } from './__fixtures__/rules.js';
import { Alerting, loadAlertRules } from './alerting.js';
import type { ChannelLimits } from './channel-sender.js';
import { RulesFileError, type RuleSet } from './rule-set.js';

const minute = 60_000;

function setup(rules: RuleSet, limits: Partial<ChannelLimits> = {}) {
  const timers = new ManualTimers();
  const start = timers.now;
  const reader = new FakeReader(undefined, timers.clock);
  const ops = new FakeNotifier('ops', 'wecom', timers.clock);
  const { logger } = memoryLogger();
  const alerting = new Alerting({
    rules,
    reader,
    notifiers: [ops],
    logger,
    channels: { ops: limits },
    clock: timers.clock,
    timers,
    random: () => 0.5,
    instance: 'host-1',
  });
  alerting.start();
  const state = (name = 'cpu-high') =>
    alerting.snapshot().rules.find((entry) => entry.rule.name === name)?.state;
  return { timers, start, reader, ops, alerting, state };
}

describe('Alerting', () => {
  it('evaluates on time and changes state while the notifier hangs', async () => {
    const { timers, start, reader, ops, alerting, state } = setup(ruleSet([cpuRule()]), {
      sendTimeoutMs: 10_000,
      maxAttempts: 4,
    });
    ops.otherwise = hang;
    reader.set('cpu_percent', 99);
    await timers.advance(minute);
    expect(state()?.state).toBe('firing');
    reader.set('cpu_percent', 20);
    await timers.advance(minute);
    expect(state()?.state).toBe('resolved');
    await timers.advance(3 * minute);
    expect(reader.reads.map((read) => (read.at - start) / minute)).toEqual([1, 2, 3, 4, 5]);

    // Four attempts of 10 s with 0.75 s, 1.5 s and 3 s between them, for each notification.
    const snapshot = alerting.snapshot();
    expect(ops.sends.map((send) => send.notification.status)).toEqual([
      ...Array<string>(4).fill('firing'),
      ...Array<string>(4).fill('resolved'),
    ]);
    expect(snapshot.rules[0]?.state.deliveries).toEqual({
      ops: {
        at: expect.any(Number),
        ok: false,
        detail: 'no answer within 10000 ms',
        attempts: 4,
        notification: 'resolved',
      },
    });
    expect(snapshot.channels).toEqual([
      expect.objectContaining({ channel: 'ops', type: 'wecom', failed: 2, retried: 6, sent: 0 }),
    ]);
    await alerting.close();
  });

  it('shows rules, states, deliveries and history in the snapshot', async () => {
    const { timers, reader, alerting } = setup(
      ruleSet([cpuRule({ description: 'see the runbook' })]),
    );
    reader.set('cpu_percent', 99);
    await timers.advance(minute);
    const snapshot = alerting.snapshot();
    expect(snapshot).toMatchObject({ source: 'test', instance: 'host-1', running: true });
    expect(snapshot.rules[0]?.rule).toEqual({
      name: 'cpu-high',
      metric: 'cpu_percent',
      aggregation: 'avg',
      window: '1m',
      every: '1m',
      comparison: '>',
      threshold: 85,
      for: '0s',
      severity: 'warning',
      channels: ['ops'],
      repeatInterval: '4h',
      summary: 'CPU usage',
      description: 'see the runbook',
      condition: 'avg(cpu_percent[1m]) > 85 for 0s',
      line: 0,
    });
    expect(snapshot.rules[0]?.state).toMatchObject({
      state: 'firing',
      value: 99,
      lastEvaluatedAt: timers.now,
      lastNotifiedAt: timers.now,
      nextEvaluationAt: timers.now + minute,
      deliveries: {
        ops: { ok: true, detail: 'errcode 0 ok', attempts: 1, notification: 'firing' },
      },
    });
    expect(snapshot.history).toEqual([
      { rule: 'cpu-high', from: 'inactive', to: 'firing', at: timers.now, value: 99 },
    ]);
    expect(snapshot.channels[0]).toMatchObject({
      sent: 1,
      last: { ok: true, rules: ['cpu-high'] },
    });
    await alerting.close();
    expect(alerting.snapshot().running).toBe(false);
  });

  it('runs the built-in rules with no channels configured, showing their states', async () => {
    const timers = new ManualTimers();
    const reader = new FakeReader(undefined, timers.clock);
    const { logger, lines } = memoryLogger();
    const rules = await loadAlertRules({ reader, channels: [], logger });
    expect(lines.filter((line) => line.level === 40)).toHaveLength(4);
    expect(lines[0]?.msg).toBe(
      'built-in defaults: rule "cpu-high", channels: unknown channel "email" (no channels are configured under alerts.channels); not notified',
    );
    const alerting = new Alerting({
      rules,
      reader,
      notifiers: [],
      logger,
      clock: timers.clock,
      timers,
    });
    alerting.start();
    reader.set('cpu_percent', 97);
    await timers.advance(minute);
    const states = alerting.snapshot().rules.map((entry) => [entry.rule.name, entry.state.state]);
    expect(states).toEqual([
      ['cpu-high', 'firing'],
      ['latency-p99-high', 'inactive'],
      ['error-rate-high', 'inactive'],
    ]);
    expect(alerting.snapshot().channels).toEqual([]);
    await alerting.close();
  });

  describe('reloadFrom', () => {
    let directory = '';
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'alerting-'));
    });
    afterAll(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    const yaml = (extra: string) =>
      `rules:\n  - name: cpu-high\n    metric: cpu_percent\n    aggregation: avg\n    window: 1m\n` +
      `    comparison: ">"\n    threshold: 85\n    severity: warning\n    channels: [ops]\n${extra}`;

    it('keeps the state of unchanged rules, and the old rules when the file is invalid', async () => {
      const path = join(directory, 'rules.yaml');
      await writeFile(path, yaml(''));
      const { timers, reader, ops, alerting, state } = setup(ruleSet([]));
      await alerting.reloadFrom(path);
      reader.set('cpu_percent', 99);
      await timers.advance(minute);
      const firing = state();
      expect(firing?.state).toBe('firing');

      await writeFile(path, yaml('    description: now with a description\n'));
      expect(await alerting.reloadFrom(path)).toEqual({
        kept: ['cpu-high'],
        added: [],
        changed: [],
        removed: [],
      });
      expect(state()).toEqual(firing);
      expect(alerting.snapshot().rules[0]?.rule.description).toBe('now with a description');

      await writeFile(path, yaml('    for: soon\n'));
      await expect(alerting.reloadFrom(path)).rejects.toBeInstanceOf(RulesFileError);
      await expect(alerting.reloadFrom(path)).rejects.toThrow(
        `${path}:10:10: rule "cpu-high", for:`,
      );
      expect(alerting.snapshot().rules[0]?.rule.description).toBe('now with a description');

      await timers.advance(minute);
      expect(ops.sends).toHaveLength(1);
      await alerting.close();
    });
  });
});
