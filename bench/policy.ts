// `npm run bench:policy`: policy evaluation latency on a generated 1,000-statement file, against
// the 50 µs median target. Reports median and p99 per decision kind (allow, explicit deny, default
// deny), checks every indexed decision against a plain scan of all statements, and times the
// wildcard matcher on the pathological input that makes a regex-based glob hang.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicyText, type PolicyStatement } from '../src/security/policy/document.js';
import {
  asciiLowerCase,
  compilePolicies,
  type AccessRequest,
  type CompiledPolicies,
  type Decision,
} from '../src/security/policy/evaluate.js';
import { matchWildcard, type MatchMeter } from '../src/security/policy/wildcard.js';

const targetMicros = 50;
const samples = Number(process.env.BENCH_SAMPLES ?? 50_000);
const root = new URL('../', import.meta.url).pathname;

// A seeded generator, so every run measures the same file and the same requests.
let seed = 20_240_601;
function random(): number {
  seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
  return seed / 2 ** 32;
}
const int = (below: number) => Math.floor(random() * below);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

const userCount = 400;
const groupCount = 60;
const users = Array.from({ length: userCount }, (_, i) => `user${i}@dept-${i % 12}.example.com`);
const groupsOf = users.map(() =>
  Array.from({ length: 1 + int(3) }, () => `team-${int(groupCount)}`).concat(
    random() < 0.1 ? ['contractors'] : [],
  ),
);

const actionPatterns = [
  'create:chat',
  'create:completion',
  'list:model',
  'get:conversation',
  'list:conversation',
  'update:conversation',
  'delete:conversation',
  'get:*',
  'list:*',
  '*:conversation',
  'create:*',
  'get:report',
  'list:audit',
];
function resourcePattern(owner: number): string {
  return pick([
    '/v1/chat',
    '/v1/chat/completions',
    '/v1/models',
    '/v1/conversations',
    `/v1/conversations/conv_u${owner}_*`,
    `/v1/projects/p${int(200)}/*`,
    `/v1/projects/p${int(200)}/reports/r??`,
    `/reports/${int(50)}/*/summary`,
    '/v1/*',
  ]);
}
const list = (items: readonly string[]) =>
  `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
const some = (count: number, make: () => string) =>
  [...new Set(Array.from({ length: count }, make))] as string[];

interface Draft {
  effect: 'allow' | 'deny';
  principals: string[];
  owner: number;
}

/** 1,000 statements: exact users, groups, subject and group patterns, `*`, 10 % denies. */
function generateFile(): string {
  const drafts: Draft[] = [];
  for (let i = 0; i < 520; i++) {
    const owner = int(userCount);
    drafts.push({ effect: 'allow', principals: some(1 + int(2), () => users[owner]!), owner });
  }
  for (let i = 0; i < 250; i++) {
    drafts.push({
      effect: 'allow',
      principals: [`group:team-${int(groupCount)}`],
      owner: int(userCount),
    });
  }
  for (let i = 0; i < 80; i++) {
    drafts.push({
      effect: 'allow',
      principals: [`*@dept-${int(12)}.example.com`],
      owner: int(userCount),
    });
  }
  for (let i = 0; i < 20; i++) {
    drafts.push({ effect: 'allow', principals: [`group:team-${int(6)}*`], owner: int(userCount) });
  }
  for (let i = 0; i < 30; i++) {
    drafts.push({ effect: 'allow', principals: ['*'], owner: int(userCount) });
  }
  for (let i = 0; i < 100; i++) {
    const kind = int(4);
    const principals =
      kind === 0
        ? [pick(users)]
        : kind === 1
          ? ['group:contractors']
          : kind === 2
            ? [`group:team-${int(groupCount)}`]
            : ['*'];
    drafts.push({ effect: 'deny', principals, owner: int(userCount) });
  }
  const lines = ['policies:'];
  for (const [index, draft] of drafts.entries()) {
    lines.push(
      `  - name: s${String(index).padStart(4, '0')}-${draft.effect}`,
      `    effect: ${draft.effect}`,
      `    actions: ${list(some(1 + int(3), () => pick(actionPatterns)))}`,
      `    resources: ${list(some(1 + int(2), () => resourcePattern(draft.owner)))}`,
      `    principals: ${list(draft.principals)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Makes a text that `pattern` matches: `*` becomes a short segment, `?` one letter. */
function instantiate(pattern: string): string {
  return pattern.replaceAll('*', () => pick(['x1', 'conv_9', 'a/b', 'q'])).replaceAll('?', 'z');
}

/** The reference: every statement checked with the plain matcher, no index, no fast path. */
function linearEvaluate(statements: readonly PolicyStatement[], request: AccessRequest) {
  const action = asciiLowerCase(request.action);
  const { subject, groups } = request.principal;
  let allow: string | undefined;
  let deny: string | undefined;
  for (const statement of statements) {
    const principalMatches = statement.principals.some((principal) =>
      principal.startsWith('group:')
        ? groups.some((group) => matchWildcard(principal.slice(6), group))
        : matchWildcard(principal, subject),
    );
    if (!principalMatches) continue;
    if (!statement.actions.some((pattern) => matchWildcard(asciiLowerCase(pattern), action)))
      continue;
    if (!statement.resources.some((pattern) => matchWildcard(pattern, request.resource))) continue;
    if (statement.effect === 'deny') {
      if (deny === undefined || statement.name < deny) deny = statement.name;
    } else if (allow === undefined || statement.name < allow) {
      allow = statement.name;
    }
  }
  if (deny !== undefined) return { reason: 'explicit-deny', name: deny };
  if (allow !== undefined) return { reason: 'allow', name: allow };
  return { reason: 'default-deny', name: undefined };
}

function makeRequests(statements: readonly PolicyStatement[], policies: CompiledPolicies) {
  const byReason = new Map<Decision['reason'], AccessRequest[]>([
    ['allow', []],
    ['explicit-deny', []],
    ['default-deny', []],
  ]);
  for (let i = 0; byReason.get('explicit-deny')!.length < 300 || i < 6_000; i++) {
    const user = int(userCount);
    const principal = { subject: users[user]!, groups: groupsOf[user]! };
    let action: string;
    let resource: string;
    if (i % 3 === 2) {
      // Something nobody is granted: a verb/object/path outside every statement.
      action = pick(['update:model', 'delete:key', 'create:backup']);
      resource = `/admin/${pick(['keys', 'backups', 'tokens'])}/${int(1000)}`;
    } else {
      const statement = pick(statements);
      action = instantiate(pick(statement.actions));
      if (action === '' || action.includes('/')) action = 'get:conversation';
      resource = instantiate(pick(statement.resources));
      // Often ask as one of the statement's own principals, so allows and denies both occur.
      const named = statement.principals.find((p) => p.includes('@') && !p.includes('*'));
      if (named !== undefined && random() < 0.7) principal.subject = named;
      if (i % 7 === 0) action = action.toUpperCase();
    }
    const request: AccessRequest = { principal, action, resource };
    const decision = policies.evaluate(request);
    const reference = linearEvaluate(statements, request);
    if (decision.reason !== reference.reason || decision.statement?.name !== reference.name) {
      throw new Error(
        `index and scan disagree on ${JSON.stringify(request)}: ${decision.reason} ${decision.statement?.name} vs ${reference.reason} ${reference.name}`,
      );
    }
    const bucket = byReason.get(decision.reason)!;
    if (bucket.length < 300) bucket.push(request);
  }
  return byReason;
}

interface Timing {
  median: number;
  p99: number;
  mean: number;
}

/** Times each call on its own (median, p99) and a tight loop (mean without timer overhead). */
function time(run: (index: number) => void, count: number): Timing {
  for (let i = 0; i < 20_000; i++) run(i);
  const each = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    run(i);
    each[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  each.sort();
  const loopStart = process.hrtime.bigint();
  for (let i = 0; i < count; i++) run(i);
  const mean = Number(process.hrtime.bigint() - loopStart) / 1000 / count;
  return { median: each[Math.floor(count / 2)]!, p99: each[Math.floor(count * 0.99)]!, mean };
}

const micros = (value: number) => `${value.toFixed(2).padStart(7)} µs`;

function main(): void {
  const text = generateFile();
  const parseStart = process.hrtime.bigint();
  const file = parsePolicyText(text, 'generated.yaml');
  const parsedAt = process.hrtime.bigint();
  const policies = compilePolicies(file);
  const compiledAt = process.hrtime.bigint();
  const denies = file.statements.filter((statement) => statement.effect === 'deny').length;
  console.log(
    `policy file: ${file.statements.length} statements (${denies} deny), ${(text.length / 1024).toFixed(0)} KiB, ` +
      `${userCount} users, ${groupCount + 1} groups; parse + validate ${(Number(parsedAt - parseStart) / 1e6).toFixed(1)} ms, ` +
      `compile ${(Number(compiledAt - parsedAt) / 1e6).toFixed(2)} ms`,
  );

  const requests = makeRequests(file.statements, policies);
  console.log(
    `decisions checked against a full scan: ${[...requests.values()].reduce((n, r) => n + r.length, 0)} sampled requests agree (and every generated one)`,
  );
  const overhead = time(() => undefined, samples);
  console.log(`timer overhead per sample: median ${micros(overhead.median)}\n`);

  console.log(
    `${'decision'.padEnd(15)} ${'median'.padStart(10)} ${'p99'.padStart(10)} ${'mean'.padStart(10)} ${'full scan'.padStart(12)}  target`,
  );
  const results: Record<string, Timing & { scanMedian: number }> = {};
  let failed = false;
  for (const [reason, list] of requests) {
    if (list.length === 0) throw new Error(`no ${reason} requests were generated`);
    const indexed = time((i) => policies.evaluate(list[i % list.length]!), samples);
    const scan = time(
      (i) => linearEvaluate(file.statements, list[i % list.length]!),
      Math.min(samples, 5_000),
    );
    const pass = indexed.median < targetMicros;
    failed ||= !pass;
    results[reason] = { ...indexed, scanMedian: scan.median };
    console.log(
      `${reason.padEnd(15)} ${micros(indexed.median)} ${micros(indexed.p99)} ${micros(indexed.mean)} ${micros(scan.median).padStart(12)}  ` +
        `${pass ? 'PASS' : 'FAIL'} (median < ${targetMicros} µs; ${(scan.median / indexed.median).toFixed(0)}× faster than the scan)`,
    );
  }

  // The input that took a RegExp-based glob 8.5 s at 70 characters and never finished at 200.
  const path = `/${'a'.repeat(198)}b`;
  const pattern = `/${'*a'.repeat(20)}*c`;
  const meter: MatchMeter = { steps: 0 };
  matchWildcard(pattern, path, meter);
  const pathological = time(() => matchWildcard(pattern, path), 2_000);
  console.log(
    `\nwildcard: ${pattern.length}-character pattern with 21 stars against a ${path.length}-character path: ` +
      `${meter.steps} steps, median ${micros(pathological.median).trim()} (no match, as expected)`,
  );

  // The matcher's own worst case: a long literal after a star, retried at every position.
  const flat = 'a'.repeat(200);
  const longLiteral = `*${'a'.repeat(50)}b`;
  const worstMeter: MatchMeter = { steps: 0 };
  matchWildcard(longLiteral, flat, worstMeter);
  const worst = time(() => matchWildcard(longLiteral, flat), 2_000);
  console.log(
    `wildcard worst case: "*a{50}b" against "a{200}": ${worstMeter.steps} steps, median ${micros(worst.median).trim()}`,
  );

  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    join(root, 'bench/results/policy.json'),
    `${JSON.stringify({ statements: file.statements.length, targetMicros, results, pathological: { steps: meter.steps, ...pathological }, worstCase: { steps: worstMeter.steps, ...worst } }, null, 2)}\n`,
  );
  console.log(
    `\n${failed ? 'FAIL' : 'PASS'}: median policy evaluation ${failed ? 'at or above' : 'under'} ${targetMicros} µs on ${file.statements.length} statements`,
  );
  if (failed) process.exitCode = 1;
}

main();
