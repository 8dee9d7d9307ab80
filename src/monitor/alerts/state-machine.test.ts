import { describe, expect, it } from 'vitest';
import { cpuRule } from './__fixtures__/rules.js';
import { initialState, step, type RuleState } from './state-machine.js';

const minute = 60_000;

/** Runs `values` one evaluation a minute apart, starting at minute 1; returns states and sends. */
function run(values: Array<number | undefined>, rule = cpuRule()) {
  let state: RuleState = initialState(0);
  return values.map((value, index) => {
    const result = step(rule, state, value, (index + 1) * minute, 0);
    state = result.state;
    return result.notify ? `${state.state}!` : state.state;
  });
}

describe('step', () => {
  it('fires at once with for 0s, resolves, then rests', () => {
    expect(run([90, 90, 50, 50, 90])).toEqual([
      'firing!',
      'firing',
      'resolved!',
      'inactive',
      'firing!',
    ]);
  });

  it('goes back through pending after a resolution when `for` is set', () => {
    const rule = cpuRule({ forMs: 2 * minute });
    expect(run([90, 90, 90, 50, 90, 90, 90], rule)).toEqual([
      'pending',
      'pending',
      'firing!',
      'resolved!',
      'pending',
      'pending',
      'firing!',
    ]);
  });

  it('treats undefined and NaN as no data: nothing changes, nothing is sent', () => {
    expect(run([90, undefined, Number.NaN, 50])).toEqual([
      'firing!',
      'firing',
      'firing',
      'resolved!',
    ]);
    expect(run([undefined, 90])).toEqual(['inactive', 'firing!']);
  });

  it('honours `for` and repeat_interval through a timer a little early, within the slack', () => {
    let state = step(cpuRule({ forMs: 5 * minute }), initialState(0), 90, 0, 1000).state;
    const early = 5 * minute - 300;
    expect(step(cpuRule({ forMs: 5 * minute }), state, 90, early, 0).state.state).toBe('pending');
    state = step(cpuRule({ forMs: 5 * minute }), state, 90, early, 1000).state;
    expect(state).toMatchObject({ state: 'firing', activeAt: 0, lastFiringNotifiedAt: early });
  });

  it('compares with each operator', () => {
    const states = (comparison: '>' | '>=' | '<' | '<=') =>
      [84, 85, 86].map(
        (value) => step(cpuRule({ comparison }), initialState(0), value, 1, 0).state.state,
      );
    expect(states('>')).toEqual(['inactive', 'inactive', 'firing']);
    expect(states('>=')).toEqual(['inactive', 'firing', 'firing']);
    expect(states('<')).toEqual(['firing', 'inactive', 'inactive']);
    expect(states('<=')).toEqual(['firing', 'firing', 'inactive']);
  });
});
