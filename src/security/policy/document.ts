import { createHash } from 'node:crypto';
import * as z from '../../util/zod.js';
import { knownObjects, verbs } from './route-actions.js';
import { hasWildcard } from './wildcard.js';
import { formatPath, locate, parseYamlFile } from './yaml-position.js';

/**
 * The policy file: YAML holding a `policies` list of statements.
 *
 * ```yaml
 * policies:
 *   - name: read-only
 *     effect: allow            # allow | deny
 *     actions: ["get:*", "list:*"]
 *     resources: ["/v1/chat"]
 *     principals: ["dev@example.com", "group:readers"]
 *     description: optional text, shown by `assistd policy check`
 * ```
 *
 * Validation is strict: unknown keys, wrong types, empty lists and duplicate names are errors, each
 * reported with its line and column.
 */

/** Largest policy file read, in bytes. */
export const maxPolicyFileBytes = 4 * 1024 * 1024;
/** Most statements in one file. */
export const maxStatements = 10_000;
/** Most entries in one statement's `actions`, `resources` or `principals`. */
export const maxListEntries = 1_000;
/** Longest action, resource or principal pattern, in UTF-16 code units. */
export const maxPatternLength = 1_024;
/** Longest statement name. */
export const maxNameLength = 128;
/** Most problems listed when a file is rejected; the rest are counted. */
const maxReportedIssues = 20;

export type Effect = 'allow' | 'deny';

/** One statement, as written in the file. */
export interface PolicyStatement {
  name: string;
  effect: Effect;
  actions: readonly string[];
  resources: readonly string[];
  principals: readonly string[];
  description?: string | undefined;
  /** Line of the statement in its file (1-based); 0 for statements built in code. */
  line: number;
}

/** A valid policy file. */
export interface PolicyFile {
  /** The file path, or a label such as `built-in default`. */
  source: string;
  /** SHA-256 of the text, hex: tells a real change from a touch. */
  digest: string;
  statements: readonly PolicyStatement[];
  /** Things that are valid but probably wrong, e.g. an action verb no route uses. */
  warnings: readonly PolicyIssue[];
}

/** One problem, with where it is. */
export interface PolicyIssue {
  line: number;
  column: number;
  /** Where in the document, e.g. `policies[1].effect`. */
  path: string;
  message: string;
}

/** A policy file that cannot be used; `message` lists every issue as `file:line:column: …`. */
export class PolicyFileError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly PolicyIssue[],
    summary?: string,
  ) {
    super(summary ?? formatIssues(source, issues));
    this.name = 'PolicyFileError';
  }
}

/** `file:line:column: path: message`, one per line, at most 20 then a count. */
export function formatIssues(source: string, issues: readonly PolicyIssue[]): string {
  const shown = issues
    .slice(0, maxReportedIssues)
    .map((issue) => `${source}:${issue.line}:${issue.column}: ${issue.path}: ${issue.message}`);
  if (issues.length > maxReportedIssues) {
    shown.push(`… and ${issues.length - maxReportedIssues} more`);
  }
  return `invalid policy file ${source}:\n${shown.join('\n')}`;
}

// Control characters (including newlines) never belong in a name or pattern: they would forge
// lines in logs and in `explain` output.
const controlCharacter = /\p{Cc}/u;

const patternText = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(maxPatternLength, `must be at most ${maxPatternLength} characters`)
  .refine((text) => !controlCharacter.test(text), 'must not contain control characters');

/** One request's action (`policy check`, the simulation API): `verb:object`, no wildcard. */
export const requestAction = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/;
/** What `requestAction` refuses says this. */
export const requestActionRule =
  'is one action, verb:object (letters, digits, _ . -), e.g. create:chat';

const actionPattern = patternText.regex(
  /^(?:\*|[A-Za-z0-9_.*?-]+:[A-Za-z0-9_.*?-]+)$/,
  'an action is "*" or "verb:object" (letters, digits, _ . - and wildcards), e.g. "get:*" or "create:chat"',
);

const resourcePattern = patternText.regex(
  /^[/*?]/,
  'a resource is a path such as "/v1/chat" or "/v1/conversations/*", or "*"',
);

const principalPattern = patternText
  .refine((text) => text.trim() === text, 'must not start or end with spaces')
  .refine((text) => text !== 'group:', 'a group principal needs a name, e.g. "group:admin"');

function patternList<T extends z.ZodType<string>>(pattern: T) {
  return z
    .array(pattern, { error: 'must be a list of strings, e.g. ["*"]' })
    .min(1, 'must list at least one entry')
    .max(maxListEntries, `must list at most ${maxListEntries} entries`);
}

const statementKeys = ['name', 'effect', 'actions', 'resources', 'principals', 'description'];

const statementSchema = z.strictObject(
  {
    name: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(maxNameLength, `must be at most ${maxNameLength} characters`)
      .refine(
        (text) => !controlCharacter.test(text) && text.trim() === text,
        'must not contain control characters or start or end with spaces',
      ),
    effect: z.enum(['allow', 'deny'], { error: 'must be "allow" or "deny" (lower case)' }),
    actions: patternList(actionPattern),
    resources: patternList(resourcePattern),
    principals: patternList(principalPattern),
    description: z.string({ error: 'must be a string' }).max(1024).optional(),
  },
  { error: 'a statement must be a mapping with name, effect, actions, resources and principals' },
);

const documentSchema = z.strictObject(
  {
    policies: z
      .array(statementSchema, { error: 'must be a list of statements' })
      .max(maxStatements, `must hold at most ${maxStatements} statements`),
  },
  { error: 'the file must be a mapping with a "policies" list' },
);

/**
 * Parses and validates policy YAML. Throws `PolicyFileError` with every problem found: YAML syntax
 * errors at their own position, schema errors at the node they concern.
 */
export function parsePolicyText(text: string, source: string): PolicyFile {
  const file = parseYamlFile(text, maxPolicyFileBytes, 'policies:');
  if (!file.ok) throw new PolicyFileError(source, file.issues);
  const { value, document, lines } = file;

  const parsed = documentSchema.safeParse(value);
  const issues: PolicyIssue[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((part) => typeof part !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const allowed =
          path.length === 0 ? '"policies"' : statementKeys.map((key) => `"${key}"`).join(', ');
        for (const key of issue.keys) {
          issues.push({
            ...locate(document, lines, path, key),
            path: formatPath([...path, key]),
            message: `unknown key "${key}" (expected ${allowed})`,
          });
        }
        continue;
      }
      const key = path.at(-1);
      const missing = typeof key === 'string' && !hasOwnKey(valueAt(value, path.slice(0, -1)), key);
      issues.push({
        ...locate(document, lines, path),
        path: formatPath(path),
        message: missing ? `missing required key "${String(key)}"` : issue.message,
      });
    }
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PolicyFileError(source, issues);
  }

  const statements = parsed.data.policies;
  const firstLine = new Map<string, number>();
  const result: PolicyStatement[] = [];
  for (const [index, statement] of statements.entries()) {
    const line = locate(document, lines, ['policies', index]).line;
    const earlier = firstLine.get(statement.name);
    if (earlier !== undefined) {
      issues.push({
        ...locate(document, lines, ['policies', index, 'name']),
        path: formatPath(['policies', index, 'name']),
        message: `duplicate statement name "${statement.name}" (first used on line ${earlier})`,
      });
    } else {
      firstLine.set(statement.name, line);
    }
    result.push({ ...statement, line });
  }
  if (issues.length > 0) throw new PolicyFileError(source, issues);

  return {
    source,
    digest: createHash('sha256').update(text).digest('hex'),
    statements: result,
    warnings: actionWarnings(result, (path) => locate(document, lines, path)),
  };
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

function hasOwnKey(container: unknown, key: string): boolean {
  return typeof container === 'object' && container !== null && Object.hasOwn(container, key);
}

const verbSet: ReadonlySet<string> = new Set(verbs);

/**
 * Actions that can never match a route: a literal verb or object the route table does not use
 * (`read:*`, `create:chats`). Valid, since routes are added over time, but worth a warning.
 */
function actionWarnings(
  statements: readonly PolicyStatement[],
  where: (path: Array<string | number>) => { line: number; column: number },
): PolicyIssue[] {
  const warnings: PolicyIssue[] = [];
  for (const [index, statement] of statements.entries()) {
    for (const [entry, action] of statement.actions.entries()) {
      if (action === '*') continue;
      const [verb = '', object = ''] = action.toLowerCase().split(':');
      const problems: string[] = [];
      if (!hasWildcard(verb) && !verbSet.has(verb)) {
        problems.push(`verb "${verb}" is not one of ${verbs.join(', ')}`);
      }
      if (!hasWildcard(object) && !knownObjects.has(object)) {
        problems.push(`object "${object}" is used by no route`);
      }
      if (problems.length === 0) continue;
      const path = ['policies', index, 'actions', entry];
      warnings.push({
        ...where(path),
        path: formatPath(path),
        message: `${problems.join('; ')}: "${action}" matches no route`,
      });
    }
  }
  return warnings;
}
