import type { Effect, PolicyFile, PolicyIssue, PolicyStatement } from './document.js';
import { compileWildcard, hasWildcard, type WildcardMatcher } from './wildcard.js';

/**
 * Evaluation follows AWS IAM:
 *
 * - default deny: a request no statement allows is denied;
 * - an explicit deny that matches wins over every allow;
 * - statement order in the file does not matter;
 * - actions compare case-insensitively (ASCII), resources case-sensitively;
 * - `*` matches any run of characters including `/`, `?` one code point (see wildcard.ts).
 *
 * Principals:
 *
 * - `*` matches every authenticated caller;
 * - `group:NAME` matches a caller in group NAME (NAME may hold wildcards: `group:team-*`;
 *   `group:*` is any caller in at least one group); group names are case-sensitive;
 * - anything else matches the caller's subject, case-sensitively, with wildcards
 *   (`*@example.com`). Case-sensitive because case folding is not identity: Unicode lower-casing
 *   maps the Kelvin sign (U+212A) to "k", so a folded compare would let "\u212Aelly@…" act as
 *   "kelly@…". Issue tokens with lower-case emails.
 *
 * A subject can never match a `group:` entry: a token issued for the name "group:admin" is not
 * in group admin.
 */

/** Who is asking: the token's subject and the groups it belongs to. */
export interface PolicyPrincipal {
  subject: string;
  groups: readonly string[];
}

export interface AccessRequest {
  principal: PolicyPrincipal;
  /** `verb:object`, e.g. `create:chat`; compared case-insensitively. */
  action: string;
  /** A path such as `/v1/conversations/conv_1`; compared case-sensitively. */
  resource: string;
}

/** The statement that decided, for `explain`, the CLI and the audit log. */
export interface StatementRef {
  name: string;
  effect: Effect;
  /** The policy file (or `built-in default`) and the statement's line in it. */
  source: string;
  line: number;
  description?: string | undefined;
}

export type Decision =
  | { allowed: true; reason: 'allow'; statement: StatementRef }
  | { allowed: false; reason: 'explicit-deny'; statement: StatementRef }
  | { allowed: false; reason: 'default-deny'; statement: undefined };

/** One list of patterns, split so exact entries cost one Set lookup. */
interface PatternSet {
  any: boolean;
  exact: ReadonlySet<string>;
  wildcards: readonly WildcardMatcher[];
}

interface CompiledStatement {
  /** Position in name order: when several statements match, the lowest rank is reported. */
  rank: number;
  actions: PatternSet;
  resources: PatternSet;
  decision: Decision;
}

/** Statements that apply to one principal key, denies and allows apart, each in rank order. */
interface Bucket {
  denies: CompiledStatement[];
  allows: CompiledStatement[];
}

const defaultDeny: Decision = Object.freeze({
  allowed: false,
  reason: 'default-deny',
  statement: undefined,
});

const upperCase = /[A-Z]/;

/** ASCII-only lower-casing: action names are ASCII, and Unicode folding has surprises. */
export function asciiLowerCase(text: string): string {
  if (!upperCase.test(text)) return text;
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    result += String.fromCharCode(unit >= 65 && unit <= 90 ? unit + 32 : unit);
  }
  return result;
}

function compilePatterns(patterns: readonly string[], fold: boolean): PatternSet {
  const exact = new Set<string>();
  const wildcards: WildcardMatcher[] = [];
  let any = false;
  for (const raw of patterns) {
    const pattern = fold ? asciiLowerCase(raw) : raw;
    if (/^\*+$/.test(pattern)) any = true;
    else if (hasWildcard(pattern)) wildcards.push(compileWildcard(pattern));
    else exact.add(pattern);
  }
  return { any, exact, wildcards };
}

function matches(set: PatternSet, text: string): boolean {
  if (set.any || set.exact.has(text)) return true;
  for (const matcher of set.wildcards) if (matcher(text)) return true;
  return false;
}

function newBucket(): Bucket {
  return { denies: [], allows: [] };
}

function bucketIn(map: Map<string, Bucket>, key: string): Bucket {
  let bucket = map.get(key);
  if (!bucket) {
    bucket = newBucket();
    map.set(key, bucket);
  }
  return bucket;
}

/**
 * A policy file prepared for evaluation. Statements are indexed by principal: an exact subject
 * or group finds its statements with one Map lookup, `*` statements sit in one bucket, and only
 * principal patterns with wildcards are tested one by one. A request then checks the action and
 * resource patterns of the few statements that name its principal, not the whole file.
 */
export class CompiledPolicies {
  readonly source: string;
  readonly digest: string;
  readonly statementCount: number;
  readonly warnings: readonly PolicyIssue[];
  private readonly bySubject = new Map<string, Bucket>();
  private readonly byGroup = new Map<string, Bucket>();
  private readonly everyone = newBucket();
  private readonly subjectPatterns: Array<{ match: WildcardMatcher; bucket: Bucket }> = [];
  private readonly groupPatterns: Array<{ match: WildcardMatcher; bucket: Bucket }> = [];
  /** Reused by `evaluate` (synchronous, so never shared by two calls). */
  private readonly candidates: Bucket[] = [];

  constructor(file: PolicyFile) {
    this.source = file.source;
    this.digest = file.digest;
    this.statementCount = file.statements.length;
    this.warnings = file.warnings;
    const ordered = [...file.statements].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    const subjectPatterns = new Map<string, Bucket>();
    const groupPatterns = new Map<string, Bucket>();
    for (const [rank, statement] of ordered.entries()) {
      const compiled = this.compileStatement(rank, statement, file.source);
      // A statement listed twice under one key (e.g. "*" twice) is filed once.
      const buckets = new Set<Bucket>();
      for (const principal of statement.principals) {
        if (/^\*+$/.test(principal)) buckets.add(this.everyone);
        else if (principal.startsWith('group:')) {
          const group = principal.slice('group:'.length);
          buckets.add(bucketIn(hasWildcard(group) ? groupPatterns : this.byGroup, group));
        } else {
          buckets.add(
            bucketIn(hasWildcard(principal) ? subjectPatterns : this.bySubject, principal),
          );
        }
      }
      for (const bucket of buckets) {
        (statement.effect === 'deny' ? bucket.denies : bucket.allows).push(compiled);
      }
    }
    for (const [pattern, bucket] of subjectPatterns) {
      this.subjectPatterns.push({ match: compileWildcard(pattern), bucket });
    }
    for (const [pattern, bucket] of groupPatterns) {
      this.groupPatterns.push({ match: compileWildcard(pattern), bucket });
    }
  }

  private compileStatement(
    rank: number,
    statement: PolicyStatement,
    source: string,
  ): CompiledStatement {
    const ref: StatementRef = Object.freeze({
      name: statement.name,
      effect: statement.effect,
      source,
      line: statement.line,
      description: statement.description,
    });
    const decision: Decision =
      statement.effect === 'allow'
        ? { allowed: true, reason: 'allow', statement: ref }
        : { allowed: false, reason: 'explicit-deny', statement: ref };
    return {
      rank,
      actions: compilePatterns(statement.actions, true),
      resources: compilePatterns(statement.resources, false),
      decision: Object.freeze(decision),
    };
  }

  /**
   * Decides one request. Explicit deny wins; among several matching statements of the deciding
   * effect the first by name is reported, so the answer never depends on file order.
   * Allocation-free: decisions are made once per statement at compile time.
   */
  evaluate(request: AccessRequest): Decision {
    const candidates = this.candidates;
    candidates.length = 0;
    const { subject, groups } = request.principal;
    const direct = this.bySubject.get(subject);
    if (direct) candidates.push(direct);
    candidates.push(this.everyone);
    for (const group of groups) {
      const bucket = this.byGroup.get(group);
      if (bucket) candidates.push(bucket);
    }
    for (const { match, bucket } of this.subjectPatterns) {
      if (match(subject)) candidates.push(bucket);
    }
    if (this.groupPatterns.length > 0) {
      for (const { match, bucket } of this.groupPatterns) {
        if (groups.some(match)) candidates.push(bucket);
      }
    }

    const action = asciiLowerCase(request.action);
    const resource = request.resource;
    const deny = firstMatch(candidates, 'denies', action, resource);
    if (deny) return deny.decision;
    const allow = firstMatch(candidates, 'allows', action, resource);
    return allow ? allow.decision : defaultDeny;
  }
}

/** The lowest-ranked statement of one effect, across the buckets, that matches. */
function firstMatch(
  buckets: readonly Bucket[],
  list: 'denies' | 'allows',
  action: string,
  resource: string,
): CompiledStatement | undefined {
  let best: CompiledStatement | undefined;
  for (const bucket of buckets) {
    for (const statement of bucket[list]) {
      // Each bucket is in rank order: nothing later in it can beat what was already found.
      if (best && statement.rank >= best.rank) break;
      if (matches(statement.actions, action) && matches(statement.resources, resource)) {
        best = statement;
        break;
      }
    }
  }
  return best;
}

/** Prepares a parsed file for evaluation. */
export function compilePolicies(file: PolicyFile): CompiledPolicies {
  return new CompiledPolicies(file);
}

/** One line saying what was decided and why, e.g. for `assistd policy check`. */
export function explainDecision(request: AccessRequest, decision: Decision): string {
  const groups =
    request.principal.groups.length === 0
      ? ''
      : ` (groups: ${request.principal.groups.join(', ')})`;
  const what = `"${request.principal.subject}"${groups} → ${request.action} on ${request.resource}`;
  if (decision.reason === 'default-deny') {
    return `deny: ${what}: no statement allows it (default deny)`;
  }
  const { statement } = decision;
  const where = statement.line > 0 ? `${statement.source}:${statement.line}` : statement.source;
  const verdict = decision.allowed ? 'allowed by' : 'denied by explicit deny in';
  return `${decision.allowed ? 'allow' : 'deny'}: ${what}: ${verdict} statement "${statement.name}" (${where})`;
}
