import type { CheckResult, CheckStatus } from './check.js';

const labels: Readonly<Record<CheckStatus, string>> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  skip: 'SKIP',
};

/**
 * The report as a table, one check a line (status, title, detail) and a count at the end. Plain
 * text without colour: it goes to terminals, CI logs and tickets alike.
 */
export function renderTable(results: readonly CheckResult[]): string {
  const titleWidth = Math.max('CHECK'.length, ...results.map((result) => result.title.length));
  const row = (status: string, title: string, detail: string) =>
    `${status.padEnd(6)}${title.padEnd(titleWidth + 2)}${detail}`.trimEnd();
  const lines = [row('', 'CHECK', 'DETAIL')];
  for (const result of results) {
    // A detail with line breaks (a policy file's problems) continues under the detail column.
    const [first = '', ...rest] = result.detail.split('\n');
    lines.push(row(labels[result.status], result.title, first));
    for (const line of rest) lines.push(row('', '', line));
  }
  const count = (status: CheckStatus) =>
    results.filter((result) => result.status === status).length;
  lines.push(
    '',
    `${count('pass')} passed, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped`,
  );
  return `${lines.join('\n')}\n`;
}

/** The `--json` document: `ok` is false when any check failed. */
export function renderJson(results: readonly CheckResult[]): string {
  const ok = results.every((result) => result.status !== 'fail');
  return `${JSON.stringify({ ok, checks: results }, null, 2)}\n`;
}
