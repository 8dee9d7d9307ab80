import { describe, expect, it } from 'vitest';
import { defaultPolicies } from './default-policy.js';
import { parsePolicyText } from './document.js';
import { compilePolicies, explainDecision, type AccessRequest, type Decision } from './evaluate.js';
import { mixedYaml, seedYaml } from './__fixtures__/policies.js';

const seed = compilePolicies(parsePolicyText(seedYaml, 'seed.yaml'));
const mixed = compilePolicies(parsePolicyText(mixedYaml, 'mixed.yaml'));

type Expected = 'allow' | 'explicit-deny' | 'default-deny';
interface Case {
  name: string;
  policies: typeof seed;
  subject: string;
  groups?: string[];
  action: string;
  resource: string;
  expected: Expected;
  /** The statement that decided (absent for default deny). */
  by?: string;
}

const cases: Case[] = [
  // The seed from the issue: admin may do everything, dev may read but not create.
  {
    name: 'seed: admin creates a chat',
    policies: seed,
    subject: 'admin@example.com',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'admin-access',
  },
  {
    name: 'seed: admin deletes a conversation',
    policies: seed,
    subject: 'admin@example.com',
    action: 'delete:conversation',
    resource: '/v1/conversations/conv_1',
    expected: 'allow',
    by: 'admin-access',
  },
  {
    name: 'seed: admin reads metrics',
    policies: seed,
    subject: 'admin@example.com',
    action: 'get:metrics',
    resource: '/metrics',
    expected: 'allow',
    by: 'admin-access',
  },
  {
    name: 'seed: dev reads the chat',
    policies: seed,
    subject: 'dev@example.com',
    action: 'get:chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'read-only',
  },
  {
    name: 'seed: dev lists the chat',
    policies: seed,
    subject: 'dev@example.com',
    action: 'list:chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'read-only',
  },
  {
    name: 'seed: dev may not POST /v1/chat (403)',
    policies: seed,
    subject: 'dev@example.com',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  {
    name: 'seed: dev may not read outside /v1/chat',
    policies: seed,
    subject: 'dev@example.com',
    action: 'get:conversation',
    resource: '/v1/conversations/conv_1',
    expected: 'default-deny',
  },
  {
    name: 'seed: dev may not delete',
    policies: seed,
    subject: 'dev@example.com',
    action: 'delete:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  {
    name: 'seed: a stranger gets nothing',
    policies: seed,
    subject: 'eve@example.com',
    action: 'get:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  // Case rules: actions fold, resources and subjects do not.
  {
    name: 'actions are case-insensitive (request)',
    policies: seed,
    subject: 'dev@example.com',
    action: 'GET:Chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'read-only',
  },
  {
    name: 'actions are case-insensitive (pattern "GET:*")',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['readers'],
    action: 'get:model',
    resource: '/v1/models',
    expected: 'allow',
    by: 'readers',
  },
  {
    name: 'resources are case-sensitive',
    policies: seed,
    subject: 'dev@example.com',
    action: 'get:chat',
    resource: '/V1/Chat',
    expected: 'default-deny',
  },
  {
    name: 'subjects are case-sensitive',
    policies: seed,
    subject: 'Admin@example.com',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  {
    name: 'subject patterns are case-sensitive too',
    policies: mixed,
    subject: 'alice@example.com',
    action: 'get:report',
    resource: '/reports/7',
    expected: 'default-deny',
  },
  // Wildcards.
  {
    name: '? matches one character',
    policies: mixed,
    subject: 'Alice@example.com',
    action: 'get:report',
    resource: '/reports/7',
    expected: 'allow',
    by: 'one-char-ids',
  },
  {
    name: '? does not match two',
    policies: mixed,
    subject: 'Alice@example.com',
    action: 'get:report',
    resource: '/reports/77',
    expected: 'default-deny',
  },
  {
    name: '? does not match none',
    policies: mixed,
    subject: 'Alice@example.com',
    action: 'get:report',
    resource: '/reports/',
    expected: 'default-deny',
  },
  {
    name: '? matches one code point',
    policies: mixed,
    subject: 'Alice@example.com',
    action: 'get:report',
    resource: '/reports/😀',
    expected: 'allow',
    by: 'one-char-ids',
  },
  {
    name: '* crosses /',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['readers'],
    action: 'get:conversation',
    resource: '/v1/conversations/c1/messages/9',
    expected: 'allow',
    by: 'conversation-owners',
  },
  {
    name: 'wildcard subject *@example.com',
    policies: mixed,
    subject: 'bob@example.com',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'chat-for-staff',
  },
  {
    name: 'wildcard subject does not match another domain',
    policies: mixed,
    subject: 'bob@example.org',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  {
    name: 'wildcard subject is anchored at the end',
    policies: mixed,
    subject: 'bob@example.com.evil',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'default-deny',
  },
  // Groups and "*".
  {
    name: 'group principal',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['readers'],
    action: 'list:conversation',
    resource: '/v1/conversations',
    expected: 'allow',
    by: 'readers',
  },
  {
    name: 'group principal needs the group',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['writers'],
    action: 'list:conversation',
    resource: '/v1/conversations',
    expected: 'default-deny',
  },
  {
    name: 'group names are case-sensitive',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['Readers'],
    action: 'list:model',
    resource: '/v1/models',
    expected: 'default-deny',
  },
  {
    name: 'group pattern group:team-*',
    policies: mixed,
    subject: 'lead@x.org',
    groups: ['x', 'team-blue'],
    action: 'list:audit',
    resource: '/admin/audit',
    expected: 'allow',
    by: 'team-leads',
  },
  {
    name: 'a subject named like a group is not in it',
    policies: mixed,
    subject: 'group:readers',
    action: 'list:model',
    resource: '/v1/models',
    expected: 'default-deny',
  },
  {
    name: '* principal matches anyone',
    policies: mixed,
    subject: 'nobody',
    action: 'get:conversation',
    resource: '/v1/conversations/c1',
    expected: 'allow',
    by: 'conversation-owners',
  },
  // Explicit deny wins, whatever the order.
  {
    name: 'deny beats allow (deny after allow in file)',
    policies: mixed,
    subject: 'carol@example.com',
    groups: ['contractors'],
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'explicit-deny',
    by: 'no-chat-for-contractors',
  },
  {
    name: 'deny beats allow (deny before allow in file)',
    policies: mixed,
    subject: 'x',
    action: 'delete:conversation',
    resource: '/v1/conversations/conv_frozen',
    expected: 'explicit-deny',
    by: 'frozen-conversation',
  },
  {
    name: 'deny only where it matches',
    policies: mixed,
    subject: 'x',
    action: 'get:conversation',
    resource: '/v1/conversations/conv_frozen',
    expected: 'allow',
    by: 'conversation-owners',
  },
  {
    name: 'deny * on a subject',
    policies: mixed,
    subject: 'mallory@example.com',
    action: 'get:conversation',
    resource: '/v1/conversations/c1',
    expected: 'explicit-deny',
    by: 'banned',
  },
  {
    name: 'two denies: the first by name decides',
    policies: mixed,
    subject: 'mallory@example.com',
    action: 'update:conversation',
    resource: '/v1/conversations/conv_frozen',
    expected: 'explicit-deny',
    by: 'banned',
  },
  {
    name: 'two allows: the first by name decides',
    policies: mixed,
    subject: 'r@x.org',
    groups: ['readers'],
    action: 'get:conversation',
    resource: '/v1/conversations/c1',
    expected: 'allow',
    by: 'conversation-owners',
  },
  // Built-in defaults.
  {
    name: 'default: anyone chats',
    policies: defaultPolicies(),
    subject: 'u',
    action: 'create:chat',
    resource: '/v1/chat',
    expected: 'allow',
    by: 'default-chat',
  },
  {
    name: 'default: anyone deletes a conversation',
    policies: defaultPolicies(),
    subject: 'u',
    action: 'delete:conversation',
    resource: '/v1/conversations/c1',
    expected: 'allow',
    by: 'default-conversations',
  },
  {
    name: 'default: admin routes need group admin',
    policies: defaultPolicies(),
    subject: 'u',
    action: 'list:token',
    resource: '/admin/tokens',
    expected: 'default-deny',
  },
  {
    name: 'default: /metrics needs group admin',
    policies: defaultPolicies(),
    subject: 'u',
    action: 'get:metrics',
    resource: '/metrics',
    expected: 'default-deny',
  },
  {
    name: 'default: group admin may',
    policies: defaultPolicies(),
    subject: 'root',
    groups: ['admin'],
    action: 'list:token',
    resource: '/admin/tokens',
    expected: 'allow',
    by: 'default-admin',
  },
];

describe('evaluate', () => {
  it.each(cases.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
    const decision = entry.policies.evaluate({
      principal: { subject: entry.subject, groups: entry.groups ?? [] },
      action: entry.action,
      resource: entry.resource,
    });
    expect(decision.reason).toBe(entry.expected);
    expect(decision.allowed).toBe(entry.expected === 'allow');
    expect(decision.statement?.name).toBe(entry.by);
  });

  it('gives the same decisions whatever the order of the statements', () => {
    const file = parsePolicyText(mixedYaml, 'mixed.yaml');
    const reversed = compilePolicies({ ...file, statements: [...file.statements].reverse() });
    const rotated = compilePolicies({
      ...file,
      statements: [...file.statements.slice(3), ...file.statements.slice(0, 3)],
    });
    for (const entry of cases.filter((c) => c.policies === mixed)) {
      const request: AccessRequest = {
        principal: { subject: entry.subject, groups: entry.groups ?? [] },
        action: entry.action,
        resource: entry.resource,
      };
      const expected = mixed.evaluate(request);
      expect(reversed.evaluate(request), entry.name).toEqual(expected);
      expect(rotated.evaluate(request), entry.name).toEqual(expected);
    }
  });

  it('names where the deciding statement is written', () => {
    const decision = seed.evaluate({
      principal: { subject: 'dev@example.com', groups: [] },
      action: 'list:chat',
      resource: '/v1/chat',
    });
    expect(decision.statement).toMatchObject({ name: 'read-only', source: 'seed.yaml', line: 7 });
  });

  it('explains allow, explicit deny and default deny in one line each', () => {
    const request = (subject: string, action: string, groups: string[] = []): AccessRequest => ({
      principal: { subject, groups },
      action,
      resource: '/v1/chat',
    });
    const explain = (policies: typeof seed, req: AccessRequest): string =>
      explainDecision(req, policies.evaluate(req));
    expect(explain(seed, request('dev@example.com', 'get:chat'))).toBe(
      'allow: "dev@example.com" → get:chat on /v1/chat: allowed by statement "read-only" (seed.yaml:7)',
    );
    expect(explain(seed, request('dev@example.com', 'create:chat'))).toBe(
      'deny: "dev@example.com" → create:chat on /v1/chat: no statement allows it (default deny)',
    );
    expect(explain(mixed, request('c@example.com', 'create:chat', ['contractors']))).toBe(
      'deny: "c@example.com" (groups: contractors) → create:chat on /v1/chat: denied by explicit deny in statement "no-chat-for-contractors" (mixed.yaml:7)',
    );
  });

  it('returns shared decision objects (no allocation per request)', () => {
    const request: AccessRequest = {
      principal: { subject: 'admin@example.com', groups: [] },
      action: 'create:chat',
      resource: '/v1/chat',
    };
    const first: Decision = seed.evaluate(request);
    expect(seed.evaluate(request)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('denies everything with an empty policy list', () => {
    const none = compilePolicies(parsePolicyText('policies: []\n', 'empty.yaml'));
    expect(
      none.evaluate({
        principal: { subject: 'admin', groups: ['admin'] },
        action: '*',
        resource: '*',
      }).reason,
    ).toBe('default-deny');
  });
});
