import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { formatPath, locate, parseYamlFile } from '../../security/policy/yaml-position.js';
import { findRuleProblems, type RuleContext, type RuleProblem } from './rule-checks.js';
import { ruleKeys, rulesDocumentSchema, toAlertRule } from './rule-schema.js';
import { RulesFileError, type RuleIssue, type RuleSet } from './rule-set.js';

/**
 * The rules file: YAML holding a `rules` list. Replaces the built-in defaults entirely.
 *
 * ```yaml
 * rules:
 *   - name: latency-p99-high
 *     metric: request_latency_ms
 *     aggregation: p99          # avg min max last p50 p90 p95 p99
 *     window: 5m
 *     every: 5m                 # default: the window
 *     comparison: ">"           # quoted: a bare > starts a YAML folded string
 *     threshold: 2000
 *     for: 0s                   # default 0s: fire at the first breaching evaluation
 *     severity: warning         # info | warning | critical
 *     channels: [wecom]
 *     repeat_interval: 4h       # default 4h
 *     summary: P99 latency      # optional title for messages
 *     description: optional text for the admin view
 * ```
 *
 * Validation is strict: unknown keys, wrong types, bad durations, duplicate names, unknown metrics,
 * aggregations a metric does not support and unconfigured channels are errors, each reported with
 * the rule's name, the key and its line and column.
 */

/** Largest rules file read, in bytes. */
export const maxRulesFileBytes = 1024 * 1024;

type PathKey = string | number;

/** Parses and validates rules YAML. Throws `RulesFileError` listing every problem found. */
export function parseRulesText(text: string, source: string, context: RuleContext): RuleSet {
  const file = parseYamlFile(text, maxRulesFileBytes, 'rules:');
  if (!file.ok) throw new RulesFileError(source, file.issues);
  const { value, document, lines } = file;

  const where = (path: readonly PathKey[], key?: string) => locate(document, lines, path, key);
  const parsed = rulesDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const issues: RuleIssue[] = [];
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((part): part is PathKey => typeof part !== 'symbol');
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      for (const key of keys) {
        issues.push(schemaIssue(value, path, key, issue.message, where));
      }
    }
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new RulesFileError(source, issues);
  }

  const rules = parsed.data.rules.map((rule, index) =>
    toAlertRule(rule, where(['rules', index]).line),
  );
  const problems = findRuleProblems(rules, context);
  const toIssue = (problem: RuleProblem): RuleIssue => {
    const path: PathKey[] = ['rules', problem.index, problem.field];
    if (problem.entry !== undefined) path.push(problem.entry);
    return {
      ...where(path),
      path: formatPath(path),
      rule: rules[problem.index]?.name,
      field: problem.field,
      message: problem.message,
    };
  };
  const errors = [...problems.errors, ...problems.unknownChannels].map(toIssue);
  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new RulesFileError(source, errors);
  }
  return {
    source,
    digest: createHash('sha256').update(text).digest('hex'),
    rules,
    warnings: problems.warnings.map(toIssue),
  };
}

/** Reads and parses a rules file; unreadable or too large files are `RulesFileError`s too. */
export async function loadRulesFile(path: string, context: RuleContext): Promise<RuleSet> {
  let text: string;
  try {
    // Checked before reading so a wrong path (a log file, a device) is not read into memory.
    const info = await stat(path);
    if (info.size > maxRulesFileBytes) throw new Error(`larger than ${maxRulesFileBytes} bytes`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fileError(path, `cannot read: ${(error as Error).message}`);
  }
  return parseRulesText(text, path, context);
}

function fileError(source: string, message: string): RulesFileError {
  return new RulesFileError(source, [{ line: 1, column: 1, path: '(file)', message }]);
}

function schemaIssue(
  value: unknown,
  path: readonly PathKey[],
  unknownKey: string | undefined,
  zodMessage: string,
  where: (path: readonly PathKey[], key?: string) => { line: number; column: number },
): RuleIssue {
  const inRule = path[0] === 'rules' && typeof path[1] === 'number';
  const ruleName = inRule ? valueAt(value, ['rules', path[1] as number, 'name']) : undefined;
  const rule = typeof ruleName === 'string' && ruleName.length <= 128 ? ruleName : undefined;
  if (unknownKey !== undefined) {
    const allowed = path.length === 0 ? '"rules"' : ruleKeys.map((key) => `"${key}"`).join(', ');
    return {
      ...where(path, unknownKey),
      path: formatPath([...path, unknownKey]),
      rule,
      field: inRule && path.length === 2 ? unknownKey : undefined,
      message: `unknown key "${unknownKey}" (expected ${allowed})`,
    };
  }
  const key = path.at(-1);
  const missing = typeof key === 'string' && !hasOwnKey(valueAt(value, path.slice(0, -1)), key);
  const field = inRule && typeof path[2] === 'string' ? path[2] : undefined;
  return {
    ...where(path),
    path: formatPath(path),
    rule,
    field,
    message: missing ? `missing required key "${String(key)}"` : zodMessage,
  };
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PathKey, unknown>)[part];
  }
  return value;
}

function hasOwnKey(container: unknown, key: string): boolean {
  return typeof container === 'object' && container !== null && Object.hasOwn(container, key);
}
