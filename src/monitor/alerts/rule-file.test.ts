import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeReader } from './__fixtures__/fakes.js';
import { builtInRules, defaultRuleSet } from './default-rules.js';
import { loadRulesFile, parseRulesText } from './rule-file.js';
import { RulesFileError, type RuleIssue } from './rule-set.js';

const context = { reader: new FakeReader(), channels: ['email', 'sms', 'wecom', 'phone'] };

/** The runbook's table as a rules file. */
const runbookYaml = `rules:
  - name: cpu-high
    metric: cpu_percent
    aggregation: avg
    window: 1m
    comparison: ">"
    threshold: 85
    severity: warning
    channels: [email, sms]
    summary: CPU usage
  - name: latency-p99-high
    metric: request_latency_ms
    aggregation: p99
    window: 5m
    every: 5m
    comparison: ">"
    threshold: 2000
    for: 0s
    severity: warning
    channels: [wecom]
    repeat_interval: 4h
    summary: P99 latency
  - name: error-rate-high
    metric: error_rate_percent
    aggregation: avg
    window: 10m
    comparison: ">"
    threshold: 5
    for: 0
    severity: critical
    channels:
      - phone
    summary: Error rate
`;

/** One valid rule with `changes` applied, as YAML lines under `rules:`. */
function ruleYaml(changes: Record<string, string | undefined> = {}): string {
  const fields: Record<string, string | undefined> = {
    name: 'r1',
    metric: 'cpu_percent',
    aggregation: 'avg',
    window: '1m',
    comparison: '">"',
    threshold: '85',
    severity: 'warning',
    channels: '[email]',
    ...changes,
  };
  const lines = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${value}`);
  return `${lines.join('\n')}\n`;
}

function issuesOf(text: string): RuleIssue[] {
  try {
    parseRulesText(text, 'rules.yaml', context);
  } catch (error) {
    expect(error).toBeInstanceOf(RulesFileError);
    return [...(error as RulesFileError).issues];
  }
  throw new Error('the file was accepted');
}

function messageOf(text: string): string {
  try {
    parseRulesText(text, 'rules.yaml', context);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

describe('parseRulesText', () => {
  it('reads the runbook file into the built-in rules, filling the defaults', () => {
    const set = parseRulesText(runbookYaml, 'rules.yaml', context);
    expect(set.rules.map((rule) => rule.line)).toEqual([2, 11, 23]);
    expect(set.rules.map((rule) => ({ ...rule, line: 0 }))).toEqual(builtInRules);
    expect(set.warnings).toEqual([]);
    expect(set.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes an optional description and an empty channel list (state only, with a warning)', () => {
    const set = parseRulesText(
      `rules:\n${ruleYaml({ channels: '[]', description: 'check the box', every: '2m' })}`,
      'rules.yaml',
      context,
    );
    expect(set.rules[0]).toMatchObject({
      channels: [],
      description: 'check the box',
      everyMs: 120_000,
    });
    expect(set.warnings.map((warning) => [warning.field, warning.line])).toEqual([
      ['every', 11],
      ['channels', 9],
    ]);
    expect(set.warnings[0]?.message).toContain('longer than window');
  });

  it('rejects an unknown metric, naming the rule, the field, the metrics and the line', () => {
    const [issue, ...rest] = issuesOf(`rules:\n${ruleYaml({ metric: 'cpu_pct' })}`);
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ line: 3, column: 13, rule: 'r1', field: 'metric' });
    expect(issue?.message).toBe(
      'unknown metric "cpu_pct"; the metrics are "cpu_percent", "request_latency_ms", "error_rate_percent"',
    );
    expect(messageOf(`rules:\n${ruleYaml({ metric: 'cpu_pct' })}`)).toContain(
      'rules.yaml:3:13: rule "r1", metric: unknown metric "cpu_pct"',
    );
  });

  it('rejects an aggregation the metric does not support', () => {
    const [issue] = issuesOf(`rules:\n${ruleYaml({ aggregation: 'p99' })}`);
    expect(issue).toMatchObject({ line: 4, rule: 'r1', field: 'aggregation' });
    expect(issue?.message).toBe('metric "cpu_percent" does not support "p99"');
    const [unknown] = issuesOf(`rules:\n${ruleYaml({ aggregation: 'median' })}`);
    expect(unknown?.message).toBe('must be one of avg, min, max, last, p50, p90, p95, p99');
  });

  it('rejects an unknown channel at the entry that names it', () => {
    const [issue] = issuesOf(`rules:\n${ruleYaml({ channels: '\n      - email\n      - slack' })}`);
    expect(issue).toMatchObject({
      line: 11,
      column: 9,
      path: 'rules[0].channels[1]',
      field: 'channels',
    });
    expect(issue?.message).toBe(
      'unknown channel "slack" (configured: "email", "sms", "wecom", "phone" under alerts.channels)',
    );
  });

  it('rejects a duplicate name at the second rule, pointing at the first', () => {
    const [issue] = issuesOf(`rules:\n${ruleYaml()}${ruleYaml()}`);
    expect(issue).toMatchObject({ line: 10, rule: 'r1', field: 'name' });
    expect(issue?.message).toBe('duplicate rule name "r1" (first used by rules[0] on line 2)');
  });

  it.each([
    [
      'window',
      '5 minutes',
      'must be a duration such as "5m" (units s, m, h, d, w), not "5 minutes"',
    ],
    ['window', '5', 'needs a unit: write "5s" or "5m", not 5'],
    ['window', '2d', 'must be between 1s and 1d'],
    ['every', '0s', 'must be longer than 0'],
    ['for', '-1m', 'must be a duration such as "0s" or "5m" (units s, m, h, d, w), not "-1m"'],
    ['repeat_interval', '[4h]', 'must be a duration such as "5m" (units s, m, h, d, w)'],
  ])('rejects %s: %s', (field, value, message) => {
    const [issue] = issuesOf(`rules:\n${ruleYaml({ [field]: value })}`);
    expect(issue).toMatchObject({
      rule: 'r1',
      field,
      message,
      line: 10 - (field === 'window' ? 5 : 0),
    });
  });

  it('explains that a bare > must be quoted', () => {
    const [issue] = issuesOf(`rules:\n${ruleYaml({ comparison: '>' })}`);
    expect(issue).toMatchObject({ line: 6, rule: 'r1', field: 'comparison' });
    expect(issue?.message).toContain('quote it in YAML, e.g. comparison: ">"');
  });

  it('rejects a threshold that is text or infinite', () => {
    expect(issuesOf(`rules:\n${ruleYaml({ threshold: '"85"' })}`)[0]).toMatchObject({
      field: 'threshold',
      message: 'must be a finite number',
    });
    expect(issuesOf(`rules:\n${ruleYaml({ threshold: '.inf' })}`)[0]?.field).toBe('threshold');
  });

  it('rejects unknown keys, missing keys and bad names, every issue in line order', () => {
    const text = `rules:\n${ruleYaml({ name: 'my rule', treshold: '3' })}${ruleYaml({ name: 'r2', severity: undefined })}`;
    const issues = issuesOf(text);
    expect(issues.map((issue) => [issue.line, issue.path, issue.message])).toEqual([
      [2, 'rules[0].name', 'may hold only letters, digits, "_", "." and "-"'],
      [
        10,
        'rules[0].treshold',
        expect.stringMatching(/^unknown key "treshold" \(expected "name", /),
      ],
      [11, 'rules[1].severity', 'missing required key "severity"'],
    ]);
    expect(issues[2]?.rule).toBe('r2');
  });

  it('reports YAML syntax errors and empty or wrongly shaped files with a position', () => {
    expect(issuesOf('rules:\n  - name: [a\n')[0]).toMatchObject({ path: '(yaml)', line: 3 });
    expect(issuesOf('')[0]?.message).toBe('the file is empty; expected "rules:"');
    expect(issuesOf('alerts: []\n').map((issue) => issue.message)).toEqual([
      'missing required key "rules"',
      'unknown key "alerts" (expected "rules")',
    ]);
    expect(issuesOf('rules: nope\n')[0]).toMatchObject({
      line: 1,
      column: 8,
      message: 'must be a list of rules',
    });
  });
});

describe('loadRulesFile', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'alert-rules-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads a file, and names it in errors', async () => {
    const path = join(directory, 'rules.yaml');
    await writeFile(path, runbookYaml);
    expect((await loadRulesFile(path, context)).rules).toHaveLength(3);
    await writeFile(path, `rules:\n${ruleYaml({ window: '1x' })}`);
    await expect(loadRulesFile(path, context)).rejects.toThrow(`${path}:5:13: rule "r1", window:`);
    await expect(loadRulesFile(join(directory, 'missing.yaml'), context)).rejects.toThrow(
      /cannot read: ENOENT/,
    );
  });
});

describe('defaultRuleSet', () => {
  it('keeps every rule on a machine without channels, dropping the channels with warnings', () => {
    const set = defaultRuleSet({ reader: new FakeReader(), channels: [] });
    expect(set.rules.map((rule) => [rule.name, rule.channels])).toEqual([
      ['cpu-high', []],
      ['latency-p99-high', []],
      ['error-rate-high', []],
    ]);
    expect(set.warnings.map((warning) => `${warning.rule} ${warning.message}`)).toEqual([
      'cpu-high unknown channel "email" (no channels are configured under alerts.channels); not notified',
      'cpu-high unknown channel "sms" (no channels are configured under alerts.channels); not notified',
      'latency-p99-high unknown channel "wecom" (no channels are configured under alerts.channels); not notified',
      'error-rate-high unknown channel "phone" (no channels are configured under alerts.channels); not notified',
    ]);
  });

  it('keeps the configured channels and drops a rule whose metric is missing', () => {
    const reader = new FakeReader({ cpu_percent: ['avg'], request_latency_ms: ['p99'] });
    const set = defaultRuleSet({ reader, channels: ['email', 'wecom'] });
    expect(set.rules.map((rule) => [rule.name, rule.channels])).toEqual([
      ['cpu-high', ['email']],
      ['latency-p99-high', ['wecom']],
    ]);
    expect(set.warnings.map((warning) => warning.message)).toEqual([
      expect.stringMatching(/^unknown metric "error_rate_percent".*; rule not loaded$/),
      expect.stringMatching(/^unknown channel "sms"/),
    ]);
  });
});
