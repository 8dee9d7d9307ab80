import type { AlertRule } from './rule.js';

/** One problem in a rules source, with where it is. */
export interface RuleIssue {
  /** 1-based; 0 for rules built in code. */
  line: number;
  column: number;
  /** Where in the document, e.g. `rules[1].window`. */
  path: string;
  /** The rule's name when it has a readable one. */
  rule?: string | undefined;
  /** The rule's key the issue is about (`window`, `channels`), when it is about one. */
  field?: string | undefined;
  message: string;
}

/** A valid set of rules, ready for the engine. */
export interface RuleSet {
  /** The file path, or `built-in defaults`. */
  source: string;
  /** SHA-256 of the text, hex (tells a real change from a touch); `built-in` for the defaults. */
  digest: string;
  rules: readonly AlertRule[];
  /** Valid but worth a look; the loader logs them. */
  warnings: readonly RuleIssue[];
}

/** Most problems listed in an error message; the rest are counted. */
const maxReportedIssues = 20;

/** `file:line:column: rule "x", field: message`, one per line. */
export function formatRuleIssue(source: string, issue: RuleIssue): string {
  const where = issue.line > 0 ? `${source}:${issue.line}:${issue.column}` : source;
  const subject =
    issue.rule !== undefined
      ? `rule "${issue.rule}"${issue.field !== undefined ? `, ${issue.field}` : ''}`
      : issue.path;
  return `${where}: ${subject}: ${issue.message}`;
}

/** A rules file that cannot be used; `message` lists every issue with its line. */
export class RulesFileError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly RuleIssue[],
  ) {
    const shown = issues.slice(0, maxReportedIssues).map((issue) => formatRuleIssue(source, issue));
    if (issues.length > maxReportedIssues) {
      shown.push(`… and ${issues.length - maxReportedIssues} more`);
    }
    super(`invalid alert rules ${source}:\n${shown.join('\n')}`);
    this.name = 'RulesFileError';
  }
}
