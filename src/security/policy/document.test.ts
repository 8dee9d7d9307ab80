import { describe, expect, it } from 'vitest';
import {
  maxListEntries,
  maxPatternLength,
  maxPolicyFileBytes,
  parsePolicyText,
  PolicyFileError,
  type PolicyIssue,
} from './document.js';
import { seedYaml } from './__fixtures__/policies.js';

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicyText(text, 'p.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFileError);
    return [...(error as PolicyFileError).issues];
  }
  throw new Error('the file was accepted');
}

const statement = (lines: string[]) =>
  `policies:\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
const valid = [
  '- name: a',
  '  effect: allow',
  '  actions: ["get:*"]',
  '  resources: ["/v1/chat"]',
  '  principals: ["*"]',
];

describe('parsePolicyText', () => {
  it('accepts the seed file from the issue verbatim', () => {
    const file = parsePolicyText(seedYaml, 'seed.yaml');
    expect(file.statements).toEqual([
      {
        name: 'admin-access',
        effect: 'allow',
        actions: ['*'],
        resources: ['*'],
        principals: ['admin@example.com'],
        line: 2,
      },
      {
        name: 'read-only',
        effect: 'allow',
        actions: ['get:*', 'list:*'],
        resources: ['/v1/chat'],
        principals: ['dev@example.com'],
        line: 7,
      },
    ]);
    expect(file.warnings).toEqual([]);
    expect(file.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts block lists, a description and an empty policy list', () => {
    const file = parsePolicyText(
      'policies:\n  - name: x\n    effect: deny\n    actions:\n      - create:chat\n    resources:\n      - /v1/chat\n    principals:\n      - group:banned\n    description: no chat\n',
      'p.yaml',
    );
    expect(file.statements[0]).toMatchObject({ effect: 'deny', description: 'no chat' });
    expect(parsePolicyText('policies: []', 'p.yaml').statements).toEqual([]);
  });

  // Each invalid file is rejected at the line (and column) of the problem.
  const invalid: Array<
    [what: string, text: string, line: number, column: number, message: RegExp]
  > = [
    [
      'bad YAML (unclosed flow list)',
      statement([...valid.slice(0, 2), '  actions: ["get:*"', '  resources: ["/v1/chat"]']),
      5,
      5,
      /flow sequence .* end with a \]/i,
    ],
    ['bad YAML (tab indentation)', 'policies:\n\t- name: a\n', 2, 1, /tab/i],
    ['duplicate YAML key', statement([...valid, '  effect: deny']), 7, 5, /unique/i],
    [
      'unknown key in a statement',
      statement([...valid.slice(0, 3), '  resource: ["/v1/chat"]', ...valid.slice(3)]),
      5,
      5,
      /unknown key "resource"/,
    ],
    ['unknown top-level key', `version: 1\n${statement(valid)}`, 1, 1, /unknown key "version"/],
    [
      'wrong effect',
      statement([valid[0]!, '  effect: permit', ...valid.slice(2)]),
      3,
      13,
      /"allow" or "deny"/,
    ],
    [
      'capitalised effect',
      statement([valid[0]!, '  effect: Allow', ...valid.slice(2)]),
      3,
      13,
      /lower case/,
    ],
    [
      'empty actions',
      statement([...valid.slice(0, 2), '  actions: []', ...valid.slice(3)]),
      4,
      14,
      /at least one/,
    ],
    [
      'empty principals',
      statement([...valid.slice(0, 4), '  principals: []']),
      6,
      17,
      /at least one/,
    ],
    [
      'empty string pattern',
      statement([...valid.slice(0, 3), '  resources: [""]', valid[4]!]),
      5,
      17,
      /must not be empty/,
    ],
    [
      'missing key',
      statement([valid[0]!, ...valid.slice(2)]),
      2,
      5,
      /missing required key "effect"/,
    ],
    [
      'a number where a string goes',
      statement(['- name: 12', ...valid.slice(1)]),
      2,
      11,
      /must be a string/,
    ],
    [
      'a string where a list goes',
      statement([...valid.slice(0, 2), '  actions: "get:*"', ...valid.slice(3)]),
      4,
      14,
      /list of strings/,
    ],
    [
      'action without verb:object',
      statement([...valid.slice(0, 2), '  actions: ["getchat"]', ...valid.slice(3)]),
      4,
      15,
      /verb:object/,
    ],
    [
      'resource not a path',
      statement([...valid.slice(0, 3), '  resources: ["v1/chat"]', valid[4]!]),
      5,
      17,
      /resource is a path/,
    ],
    [
      'group without a name',
      statement([...valid.slice(0, 4), '  principals: ["group:"]']),
      6,
      18,
      /group principal needs a name/,
    ],
    [
      'control character in a name',
      statement(['- name: "a\\nb"', ...valid.slice(1)]),
      2,
      11,
      /control characters/,
    ],
    ['policies not a list', 'policies:\n  name: a\n', 2, 3, /list of statements/],
    ['a statement that is not a mapping', 'policies:\n  - just text\n', 2, 5, /must be a mapping/],
    ['empty file', '# nothing here\n', 1, 1, /empty/],
    ['top level not a mapping', '- a\n- b\n', 1, 1, /mapping with a "policies" list/],
  ];

  it.each(invalid)('rejects %s', (_what, text, line, column, message) => {
    const [first] = issuesOf(text);
    expect(first).toMatchObject({ line, column });
    expect(first!.message).toMatch(message);
  });

  it('rejects a duplicate statement name at its second use, naming the first', () => {
    const text = statement([
      ...valid,
      ...valid.map((line) => line.replace('effect: allow', 'effect: deny')),
    ]);
    expect(issuesOf(text)).toEqual([
      {
        line: 7,
        column: 11,
        path: 'policies[1].name',
        message: 'duplicate statement name "a" (first used on line 2)',
      },
    ]);
  });

  it('reports every problem, in file order, in the error message', () => {
    const text = statement([
      valid[0]!,
      '  effect: maybe',
      '  actions: []',
      '  resources: ["/x"]',
      '  principals: ["*"]',
      '  extra: 1',
    ]);
    let message = '';
    try {
      parsePolicyText(text, 'p.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'invalid policy file p.yaml:',
      'p.yaml:3:13: policies[0].effect: must be "allow" or "deny" (lower case)',
      'p.yaml:4:14: policies[0].actions: must list at least one entry',
      'p.yaml:7:5: policies[0].extra: unknown key "extra" (expected "name", "effect", "actions", "resources", "principals", "description")',
    ]);
  });

  it('enforces the size limits', () => {
    const long = `/${'x'.repeat(maxPatternLength)}`;
    expect(
      issuesOf(statement([...valid.slice(0, 3), `  resources: ["${long}"]`, valid[4]!]))[0]!
        .message,
    ).toMatch(/at most 1024/);
    const many = JSON.stringify(Array.from({ length: maxListEntries + 1 }, (_, i) => `u${i}`));
    expect(
      issuesOf(statement([...valid.slice(0, 4), `  principals: ${many}`]))[0]!.message,
    ).toMatch(/at most 1000 entries/);
    const huge = `policies: []\n#${'x'.repeat(maxPolicyFileBytes)}\n`;
    expect(issuesOf(huge)[0]!.message).toMatch(/larger than/);
  });

  it('refuses alias bombs', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'policies: []',
    ].join('\n');
    expect(issuesOf(bomb)[0]!.message).toMatch(/alias/i);
  });

  it('warns about actions that no route uses, with their line', () => {
    const file = parsePolicyText(
      statement([
        ...valid.slice(0, 2),
        '  actions: ["read:*", "create:chats", "get:*", "*:chat"]',
        ...valid.slice(3),
      ]),
      'p.yaml',
    );
    expect(file.warnings.map((warning) => [warning.line, warning.path, warning.message])).toEqual([
      [
        4,
        'policies[0].actions[0]',
        'verb "read" is not one of get, list, create, update, delete: "read:*" matches no route',
      ],
      [
        4,
        'policies[0].actions[1]',
        'object "chats" is used by no route: "create:chats" matches no route',
      ],
    ]);
  });
});
