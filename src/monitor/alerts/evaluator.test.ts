import { describe, expect, it } from 'vitest';
import { FakeReader, memoryLogger } from './__fixtures__/fakes.js';
import { ManualTimers } from './__fixtures__/manual-timers.js';
import { cpuRule, ruleSet } from './__fixtures__/rules.js';
import { AlertEngine } from './evaluator.js';
import type { AlertEvent } from './events.js';
import type { AlertRule } from './rule.js';

const minute = 60_000;

function setup(rules: AlertRule[], historySize?: number) {
  const timers = new ManualTimers();
  const start = timers.now;
  const reader = new FakeReader(undefined, timers.clock);
  const batches: AlertEvent[][] = [];
  const sink = { broken: false };
  const { logger, lines } = memoryLogger();
  const engine = new AlertEngine({
    rules: ruleSet(rules),
    reader,
    sink: {
      submit: (events) => {
        if (sink.broken) throw new Error('sink down');
        batches.push([...events]);
      },
    },
    logger,
    clock: timers.clock,
    timers,
    instance: 'host-1',
    historySize,
  });
  engine.start();
  const stateOf = (name = 'cpu-high') =>
    engine.snapshot().rules.find((entry) => entry.rule.name === name)?.state;
  return { timers, start, reader, batches, engine, stateOf, lines, sink };
}

describe('AlertEngine', () => {
  it('goes pending, then fires once the condition held for `for`', async () => {
    const { timers, start, reader, batches, stateOf } = setup([cpuRule({ forMs: 3 * minute })]);
    reader.set('cpu_percent', 91.234);
    await timers.advance(minute);
    expect(stateOf()).toMatchObject({ state: 'pending', activeAt: start + minute, value: 91.234 });
    await timers.advance(2 * minute);
    expect(stateOf()?.state).toBe('pending');
    expect(batches).toEqual([]);

    await timers.advance(minute);
    expect(stateOf()).toMatchObject({ state: 'firing', since: start + 4 * minute });
    expect(batches).toHaveLength(1);
    const [event] = batches[0]!;
    expect(event?.channels).toEqual(['ops']);
    expect(event?.alert).toEqual({
      rule: 'cpu-high',
      status: 'firing',
      severity: 'warning',
      metric: 'cpu_percent',
      aggregation: 'avg',
      comparison: '>',
      threshold: 85,
      value: 91.234,
      summary: 'CPU usage 91.23 % > 85 % over 1m',
      startsAt: start + minute,
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      labels: {
        alertname: 'cpu-high',
        severity: 'warning',
        instance: 'host-1',
        service: 'assistd',
      },
    });
  });

  it('sends nothing when a pending alert recovers before `for`', async () => {
    const { timers, reader, batches, stateOf, engine } = setup([cpuRule({ forMs: 5 * minute })]);
    reader.set('cpu_percent', 90);
    await timers.advance(2 * minute);
    reader.set('cpu_percent', 40);
    await timers.advance(minute);
    expect(stateOf()?.state).toBe('inactive');
    await timers.advance(10 * minute);
    expect(batches).toEqual([]);
    expect(engine.snapshot().history.map((entry) => `${entry.from}>${entry.to}`)).toEqual([
      'inactive>pending',
      'pending>inactive',
    ]);
  });

  it('resolves with a notification, then goes inactive at the next evaluation', async () => {
    const { timers, start, reader, batches, stateOf } = setup([cpuRule()]);
    reader.set('cpu_percent', 95);
    await timers.advance(minute);
    reader.set('cpu_percent', 60);
    await timers.advance(minute);
    expect(batches.map((batch) => batch.map((event) => event.alert.status))).toEqual([
      ['firing'],
      ['resolved'],
    ]);
    expect(batches[1]?.[0]?.alert).toMatchObject({
      value: 60,
      summary: 'CPU usage 60 % <= 85 % over 1m',
      startsAt: start + minute,
      endsAt: start + 2 * minute,
    });
    expect(stateOf()?.state).toBe('resolved');
    await timers.advance(minute);
    expect(stateOf()?.state).toBe('inactive');
    expect(batches).toHaveLength(2);
  });

  it('does not repeat while firing, except every repeat_interval', async () => {
    const { timers, reader, batches } = setup([cpuRule({ repeatIntervalMs: 60 * minute })]);
    reader.set('cpu_percent', 99);
    await timers.advance(minute);
    await timers.advance(59 * minute);
    expect(batches).toHaveLength(1);
    await timers.advance(minute);
    expect(batches).toHaveLength(2);
    const [first, repeat] = batches.map((batch) => batch[0]!.alert);
    expect(repeat).toMatchObject({
      status: 'firing',
      startsAt: first?.startsAt,
      fingerprint: first?.fingerprint,
    });
    await timers.advance(59 * minute);
    expect(batches).toHaveLength(2);
  });

  it('keeps the state through no data: a firing alert neither resolves nor repeats', async () => {
    const { timers, reader, batches, stateOf } = setup([
      cpuRule({ repeatIntervalMs: 5 * minute }),
      cpuRule({ name: 'slow', forMs: 3 * minute, metric: 'request_latency_ms', threshold: 10 }),
    ]);
    reader.set('cpu_percent', 99);
    reader.set('request_latency_ms', 50);
    await timers.advance(minute);
    reader.set('cpu_percent', undefined);
    reader.set('request_latency_ms', Number.NaN);
    await timers.advance(10 * minute);
    expect(stateOf()).toMatchObject({ state: 'firing', value: undefined });
    expect(stateOf('slow')?.state).toBe('pending');
    expect(batches).toHaveLength(1);
    // `for` kept counting through the gap; the reminder due in the gap goes out with the data.
    reader.set('request_latency_ms', 50);
    reader.set('cpu_percent', 97);
    await timers.advance(minute);
    expect(stateOf('slow')?.state).toBe('firing');
    expect(batches[1]?.map((event) => event.alert.rule)).toEqual(['cpu-high', 'slow']);
  });

  it('evaluates each rule on its own schedule, rules due together in one batch', async () => {
    const latency = cpuRule({
      name: 'latency',
      metric: 'request_latency_ms',
      aggregation: 'p99',
      windowMs: 5 * minute,
      everyMs: 5 * minute,
      threshold: 2000,
      summary: 'P99 latency',
    });
    const { timers, start, reader, batches } = setup([cpuRule(), latency]);
    reader.set('request_latency_ms', 2500);
    reader.set('cpu_percent', 50);
    await timers.advance(4 * minute);
    reader.set('cpu_percent', 90);
    await timers.advance(minute);
    const reads = reader.reads.map(
      (read) => `${(read.at - start) / minute} ${read.metric} ${read.windowMs}`,
    );
    expect(reads).toEqual([
      '1 cpu_percent 60000',
      '2 cpu_percent 60000',
      '3 cpu_percent 60000',
      '4 cpu_percent 60000',
      '5 cpu_percent 60000',
      `5 request_latency_ms 300000`,
    ]);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((event) => event.alert.summary)).toEqual([
      'CPU usage 90 % > 85 % over 1m',
      'P99 latency 2500 ms > 2000 ms over 5m',
    ]);
  });

  it('treats a reader that throws as no data, and a sink that throws costs the message only', async () => {
    const { timers, reader, stateOf, lines, sink } = setup([cpuRule()]);
    reader.set('cpu_percent', 99);
    sink.broken = true;
    await timers.advance(minute);
    expect(stateOf()?.state).toBe('firing');
    expect(lines.some((line) => line.msg === 'alert notifications could not be queued')).toBe(true);
    reader.read = () => {
      throw new Error('series gone');
    };
    await timers.advance(minute);
    expect(stateOf()).toMatchObject({
      state: 'firing',
      error: 'series gone',
      lastEvaluatedAt: timers.now,
    });
  });

  it('keeps a bounded history', async () => {
    const { timers, reader, engine } = setup([cpuRule()], 3);
    for (let index = 0; index < 5; index++) {
      reader.set('cpu_percent', index % 2 === 0 ? 99 : 10);
      await timers.advance(minute);
    }
    expect(engine.snapshot().history.map((entry) => entry.to)).toEqual([
      'firing',
      'resolved',
      'firing',
    ]);
  });

  it('reload keeps the state of unchanged rules and resolves firing ones that change or go', async () => {
    const other = cpuRule({ name: 'other', metric: 'error_rate_percent', threshold: 5 });
    const gone = cpuRule({ name: 'gone', metric: 'error_rate_percent', threshold: 1 });
    const { timers, reader, engine, batches, stateOf } = setup([cpuRule(), other, gone]);
    reader.set('cpu_percent', 99);
    reader.set('error_rate_percent', 7);
    await timers.advance(minute);
    expect(batches[0]).toHaveLength(3);
    const before = stateOf();

    const summary = engine.reload(
      ruleSet([
        cpuRule({ channels: ['ops', 'pager'], severity: 'critical' }),
        { ...other, threshold: 6 },
        cpuRule({ name: 'new', metric: 'request_latency_ms' }),
      ]),
    );
    expect(summary).toEqual({
      kept: ['cpu-high'],
      added: ['new'],
      changed: ['other'],
      removed: ['gone'],
    });
    expect(stateOf()).toEqual(before);
    expect(stateOf('other')?.state).toBe('inactive');
    expect(
      batches[1]?.map(
        (event) => `${event.alert.rule} ${event.alert.status}: ${event.alert.summary}`,
      ),
    ).toEqual([
      'other resolved: CPU usage 7 % <= 5 % over 1m (rule changed)',
      'gone resolved: CPU usage 7 % <= 1 % over 1m (rule removed)',
    ]);

    await timers.advance(minute);
    // Still firing, so no new notification for cpu-high; `other` fires again under its new threshold.
    expect(batches[2]?.map((event) => `${event.alert.rule} ${event.alert.status}`)).toEqual([
      'other firing',
    ]);
    expect(stateOf()?.state).toBe('firing');
  });
});
