import { describe, expect, it } from 'vitest';
import type { AlertInstance, SendResult } from '../types.js';
import { answer, FakeNotifier, hang, memoryLogger } from './__fixtures__/fakes.js';
import { ManualTimers } from './__fixtures__/manual-timers.js';
import type { ChannelLimits } from './channel-sender.js';
import { AlertDispatcher } from './dispatcher.js';
import type { DeliveryReport } from './events.js';

function alert(rule: string, status: AlertInstance['status'] = 'firing'): AlertInstance {
  return {
    rule,
    status,
    severity: 'warning',
    metric: 'cpu_percent',
    aggregation: 'avg',
    comparison: '>',
    threshold: 85,
    value: 90,
    summary: `${rule} 90 % > 85 % over 1m`,
    startsAt: 0,
    fingerprint: `fp-${rule}`,
    labels: { alertname: rule },
  };
}

function setup(
  limits: Partial<ChannelLimits> = {},
  types: Record<string, FakeNotifier['type']> = {},
) {
  const timers = new ManualTimers();
  const start = timers.now;
  const notifiers = new Map(
    ['ops', 'pager', ...Object.keys(types)].map((name) => [
      name,
      new FakeNotifier(name, types[name] ?? 'webhook', timers.clock),
    ]),
  );
  const reports: DeliveryReport[] = [];
  const { logger } = memoryLogger();
  const dispatcher = new AlertDispatcher({
    notifiers,
    logger,
    clock: timers.clock,
    timers,
    random: () => 0.5,
    channels: Object.fromEntries([...notifiers.keys()].map((name) => [name, limits])),
    onDelivery: (report) => reports.push(report),
  });
  const ops = notifiers.get('ops')!;
  const sendTimes = (notifier = ops) => notifier.sends.map((send) => send.at - start);
  const statsOf = (channel = 'ops') =>
    dispatcher.stats().find((stats) => stats.channel === channel)!;
  return { timers, start, notifiers, ops, reports, dispatcher, sendTimes, statsOf };
}

describe('AlertDispatcher', () => {
  it('groups one tick per channel and status into one notification', async () => {
    const { timers, ops, notifiers, dispatcher } = setup();
    dispatcher.submit([
      { alert: alert('b'), channels: ['ops', 'pager'] },
      { alert: alert('a'), channels: ['ops'] },
      { alert: alert('c', 'resolved'), channels: ['ops', 'ops'] },
    ]);
    await timers.advance(0);
    expect(ops.rulesSent).toEqual([['c'], ['b', 'a']]);
    expect(ops.sends.map((send) => [send.notification.status, send.notification.groupKey])).toEqual(
      [
        ['resolved', 'ops:c'],
        ['firing', 'ops:a,b'],
      ],
    );
    expect(notifiers.get('pager')?.rulesSent).toEqual([['b']]);
  });

  it('holds a group open for group_wait when configured', async () => {
    const { timers, ops, dispatcher, sendTimes } = setup({ groupWaitMs: 1000 });
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    await timers.advance(500);
    dispatcher.submit([{ alert: alert('b'), channels: ['ops'] }]);
    await timers.advance(499);
    expect(ops.sends).toEqual([]);
    await timers.advance(1);
    expect(ops.rulesSent).toEqual([['a', 'b']]);
    expect(sendTimes()).toEqual([1000]);
  });

  it('keeps a WeCom robot at 20 a minute: the 21st waits for the window', async () => {
    const { timers, notifiers, dispatcher, sendTimes, statsOf } = setup({}, { robot: 'wecom' });
    const robot = notifiers.get('robot')!;
    for (let index = 0; index < 21; index++) {
      dispatcher.submit([{ alert: alert(`r${index}`), channels: ['robot'] }]);
    }
    await timers.advance(59_999);
    expect(robot.sends).toHaveLength(20);
    expect(statsOf('robot')).toMatchObject({ perMinute: 20, sending: true, sent: 20 });
    await timers.advance(1);
    expect(sendTimes(robot).slice(19)).toEqual([0, 60_000]);
  });

  it('retries a retryable failure with growing, jittered backoff', async () => {
    const { timers, ops, dispatcher, reports, sendTimes, statsOf } = setup({ baseDelayMs: 1000 });
    ops.script.push(
      answer({ retryable: true, status: 503 }),
      answer({ retryable: true, status: 503 }),
    );
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    await timers.advance(10_000);
    // random() = 0.5: half the step plus a quarter of it: 750 ms, then 1500 ms.
    expect(sendTimes()).toEqual([0, 750, 2250]);
    expect(statsOf()).toMatchObject({ sent: 1, failed: 0, retried: 2 });
    expect(reports.map((report) => [report.result.ok, report.attempts])).toEqual([[true, 3]]);
  });

  it('does not retry a non-retryable failure, and gives up after maxAttempts', async () => {
    const { timers, ops, dispatcher, reports, statsOf } = setup({ maxAttempts: 3 });
    ops.script.push(
      answer({ retryable: false, status: 400, detail: 'errcode 40008 invalid message type' }),
    );
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    await timers.advance(60_000);
    expect(ops.sends).toHaveLength(1);
    expect(reports[0]?.result.detail).toBe('errcode 40008 invalid message type');

    ops.otherwise = answer({ retryable: true, status: 500 });
    dispatcher.submit([{ alert: alert('b'), channels: ['ops'] }]);
    await timers.advance(60_000);
    expect(ops.sends).toHaveLength(4);
    expect(statsOf()).toMatchObject({ sent: 0, failed: 2, retried: 2 });
    expect(statsOf().last).toMatchObject({ ok: false, status: 500, attempts: 3, rules: ['b'] });
  });

  it('honours retryAfterMs, and fails when it asks for longer than maxRetryAfterMs', async () => {
    const { timers, ops, dispatcher, reports, sendTimes } = setup({ maxRetryAfterMs: 60_000 });
    ops.script.push(answer({ retryable: true, status: 429, retryAfterMs: 30_000 }));
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    await timers.advance(29_999);
    expect(ops.sends).toHaveLength(1);
    await timers.advance(1);
    expect(sendTimes()).toEqual([0, 30_000]);

    ops.script.push(answer({ retryable: true, status: 429, retryAfterMs: 61_000 }));
    dispatcher.submit([{ alert: alert('b'), channels: ['ops'] }]);
    await timers.advance(120_000);
    expect(ops.sends).toHaveLength(3);
    expect(reports.map((report) => report.result.ok)).toEqual([true, false]);
  });

  it('abandons a hanging notifier at the timeout, aborting its signal', async () => {
    const { timers, ops, dispatcher, reports } = setup({ sendTimeoutMs: 10_000, maxAttempts: 1 });
    ops.otherwise = hang;
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    await timers.advance(9_999);
    expect(reports).toEqual([]);
    expect(ops.sends[0]?.signal.aborted).toBe(false);
    await timers.advance(1);
    expect(ops.sends[0]?.signal.aborted).toBe(true);
    expect(reports[0]?.result).toEqual({
      ok: false,
      retryable: true,
      detail: 'no answer within 10000 ms',
    });
  });

  it('counts a notifier that throws, or answers nonsense, as a failed send, not retried', async () => {
    const { timers, ops, dispatcher, reports, statsOf } = setup();
    ops.script.push(
      () => {
        throw new Error('boom');
      },
      () => Promise.reject(new Error('late boom')),
      () => Promise.resolve('ok' as unknown as SendResult),
    );
    for (const rule of ['a', 'b', 'c'])
      dispatcher.submit([{ alert: alert(rule), channels: ['ops'] }]);
    await timers.advance(60_000);
    expect(reports.map((report) => report.result.detail)).toEqual([
      'the notifier threw: boom',
      'the notifier threw: late boom',
      'the notifier returned no SendResult',
    ]);
    expect(statsOf()).toMatchObject({ failed: 3, retried: 0 });
  });

  it('bounds the queue: overflow drops the oldest waiting notification and counts it', async () => {
    const { timers, ops, dispatcher, reports, statsOf } = setup({
      queueSize: 3,
      sendTimeoutMs: 5_000,
      maxAttempts: 1,
    });
    ops.script.push(hang);
    for (const rule of ['a', 'b', 'c', 'd', 'e', 'f']) {
      dispatcher.submit([{ alert: alert(rule), channels: ['ops'] }]);
    }
    await timers.advance(0);
    expect(statsOf()).toMatchObject({ queued: 3, dropped: 2, sending: true });
    expect(
      reports.map((report) => `${report.notification.groupKey} ${report.result.detail}`),
    ).toEqual(['ops:b dropped: queue full', 'ops:c dropped: queue full']);
    await timers.advance(5_000);
    expect(ops.rulesSent).toEqual([['a'], ['d'], ['e'], ['f']]);
  });

  it('close() gives the send in flight a grace period, then abandons it and drops the queue', async () => {
    const { timers, ops, dispatcher, reports, statsOf } = setup({ sendTimeoutMs: 60_000 });
    ops.script.push(hang);
    dispatcher.submit([{ alert: alert('a'), channels: ['ops'] }]);
    dispatcher.submit([{ alert: alert('b'), channels: ['ops'] }]);
    await timers.advance(0);
    let closed = false;
    const closing = dispatcher.close().then(() => (closed = true));
    await timers.advance(1_999);
    expect(closed).toBe(false);
    await timers.advance(1);
    await closing;
    expect(ops.sends[0]?.signal.aborted).toBe(true);
    expect(reports[0]?.result.detail).toBe('abandoned: the dispatcher closed');
    expect(statsOf()).toMatchObject({ failed: 1, dropped: 1, queued: 0, sending: false });
    dispatcher.submit([{ alert: alert('c'), channels: ['ops'] }]);
    expect(statsOf().dropped).toBe(2);
    expect(timers.pending).toBe(0);
  });
});
