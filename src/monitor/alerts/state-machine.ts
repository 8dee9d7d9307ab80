import { breaches, type AlertRule } from './rule.js';

/**
 * A rule's alert state. `inactive` → `pending` (breaching, `for` not yet elapsed) → `firing` →
 * `resolved` (shown until the next evaluation) → `inactive`. A rule with `for: 0s` goes from
 * `inactive` straight to `firing`.
 */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** What the engine remembers about one rule. Times are milliseconds since the epoch. */
export interface RuleState {
  state: AlertState;
  /** When the rule entered `state` (its load time while it never changed). */
  since: number;
  /** When the condition started to hold in the current episode: the alert's `startsAt`. */
  activeAt: number | undefined;
  /** When the alert last resolved: the resolution's `endsAt`. */
  resolvedAt: number | undefined;
  /** The last evaluation's value; undefined when it found no data. */
  value: number | undefined;
  /** The last value that was not "no data", for messages sent during a gap. */
  lastSeenValue: number | undefined;
  lastEvaluatedAt: number | undefined;
  /** Last notification handed to the dispatcher (not its delivery: see the delivery results). */
  lastNotifiedAt: number | undefined;
  /** Last firing notification, first or reminder: `repeat_interval` counts from it. */
  lastFiringNotifiedAt: number | undefined;
}

/** The result of one evaluation: the new state and what, if anything, to send. */
export interface Step {
  state: RuleState;
  notify?: 'firing' | 'resolved' | undefined;
  /** Set when `state.state` changed. */
  from?: AlertState | undefined;
}

/** The state of a rule nobody has evaluated yet. */
export function initialState(now: number): RuleState {
  return {
    state: 'inactive',
    since: now,
    activeAt: undefined,
    resolvedAt: undefined,
    value: undefined,
    lastSeenValue: undefined,
    lastEvaluatedAt: undefined,
    lastNotifiedAt: undefined,
    lastFiringNotifiedAt: undefined,
  };
}

/**
 * One evaluation of `rule` at `now` that read `value`. Pure: the engine applies the result.
 *
 * No data (`undefined`, or NaN) changes nothing but `value` and `lastEvaluatedAt`: a latency rule
 * must not resolve because no request came in, nor fire. A pending rule's `for` keeps counting
 * through a gap, and a reminder that fell due during one goes out at the next evaluation with data.
 *
 * `slackMs` absorbs timer drift: an evaluation scheduled exactly `for` after the first breach may
 * run a few milliseconds early by the wall clock, and must still fire then rather than one
 * interval later.
 */
export function step(
  rule: AlertRule,
  current: RuleState,
  value: number | undefined,
  now: number,
  slackMs: number,
): Step {
  const measured = value === undefined || Number.isNaN(value) ? undefined : value;
  const base: RuleState = {
    ...current,
    value: measured,
    lastEvaluatedAt: now,
    lastSeenValue: measured ?? current.lastSeenValue,
  };
  if (measured === undefined) return { state: base };

  const enter = (
    state: AlertState,
    changes: Partial<RuleState>,
    notify?: Step['notify'],
  ): Step => ({
    state: { ...base, ...changes, state, since: now },
    notify,
    from: current.state,
  });
  const fire = (activeAt: number) =>
    enter(
      'firing',
      { activeAt, resolvedAt: undefined, lastNotifiedAt: now, lastFiringNotifiedAt: now },
      'firing',
    );

  const breaching = breaches(rule, measured);
  switch (current.state) {
    case 'inactive':
    case 'resolved':
      if (breaching) return rule.forMs === 0 ? fire(now) : enter('pending', { activeAt: now });
      return current.state === 'resolved'
        ? enter('inactive', { activeAt: undefined })
        : { state: base };
    case 'pending': {
      if (!breaching) return enter('inactive', { activeAt: undefined });
      const activeAt = current.activeAt ?? now;
      return now - activeAt + slackMs >= rule.forMs ? fire(activeAt) : { state: base };
    }
    case 'firing': {
      if (!breaching) {
        return enter('resolved', { resolvedAt: now, lastNotifiedAt: now }, 'resolved');
      }
      const last = current.lastFiringNotifiedAt ?? current.since;
      if (now - last + slackMs < rule.repeatIntervalMs) return { state: base };
      return {
        state: { ...base, lastNotifiedAt: now, lastFiringNotifiedAt: now },
        notify: 'firing',
      };
    }
  }
}
