import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pass, type Check } from './check.js';
import { renderJson, renderTable } from './render.js';
import { allPassed, runChecks } from './runner.js';

const check = (id: string, run: Check['run']): Check => ({ id, title: id, run });

describe('the check runner', () => {
  it('runs checks at once and keeps their order', async () => {
    const started = performance.now();
    const results = await runChecks([
      check('slow', async () => {
        await sleep(200);
        return pass('slow done');
      }),
      check('fast', async () => pass('fast done')),
      check('also-slow', async () => {
        await sleep(200);
        return pass('also done');
      }),
    ]);
    expect(performance.now() - started).toBeLessThan(380);
    expect(results.map((result) => result.id)).toEqual(['slow', 'fast', 'also-slow']);
    expect(results.every((result) => result.status === 'pass')).toBe(true);
  });

  it('turns a thrown error, async or not, into a fail with its message', async () => {
    const results = await runChecks([
      check('async', async () => {
        throw new Error('disk on fire');
      }),
      check('sync', () => {
        throw new Error('thrown before any promise');
      }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fail', 'fail']);
    expect(results[0]!.detail).toContain('disk on fire');
    expect(results[1]!.detail).toContain('thrown before any promise');
  });

  it('fails a check still running at the timeout and aborts its signal', async () => {
    let aborted = false;
    const started = performance.now();
    const [result] = await runChecks(
      [
        check('hangs', ({ signal }) => {
          signal.addEventListener('abort', () => (aborted = true));
          return new Promise(() => undefined);
        }),
      ],
      { timeoutMs: 100 },
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ status: 'fail', detail: expect.stringContaining('timed out') });
    expect(aborted).toBe(true);
  });

  it('gives a check with stages a timeout per stage', async () => {
    const [result] = await runChecks(
      [
        {
          ...check('three-stages', async () => {
            await sleep(250);
            return pass('in time');
          }),
          stages: 3,
        },
      ],
      { timeoutMs: 100 },
    );
    expect(result!.status).toBe('pass');
  });

  it('renders a table with a count, and JSON whose ok ignores warnings', () => {
    const results = [
      { id: 'a', title: 'First', status: 'pass' as const, detail: 'fine' },
      { id: 'b', title: 'Second check', status: 'warn' as const, detail: 'hmm\nsecond line' },
      { id: 'c', title: 'Third', status: 'skip' as const, detail: 'not configured' },
    ];
    const table = renderTable(results);
    expect(table).toContain('PASS  First         fine');
    expect(table).toContain('WARN  Second check  hmm\n                    second line');
    expect(table).toContain('1 passed, 1 warnings, 0 failed, 1 skipped');
    expect(JSON.parse(renderJson(results))).toEqual({ ok: true, checks: results });
    expect(allPassed(results)).toBe(true);
    expect(allPassed([...results, { ...results[0]!, status: 'fail' }])).toBe(false);
  });
});
