import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicyYaml } from '../../src/security/policy/default-policy.js';
import { Harness } from '../support/harness.js';

interface KeyList {
  object: string;
  rotation_days: number;
  data: Array<Record<string, unknown>>;
}

interface Simulation {
  allowed: boolean;
  reason: string;
  statement: {
    name: string;
    effect: string;
    source: string;
    line: number;
    description?: string;
  } | null;
  explanation: string;
}

interface ErrorBody {
  error: { code: string; type: string; message: string; param?: string | null };
}

/** The built-in policies plus one explicit deny, so every decision kind can be simulated. */
const policiesYaml = `${defaultPolicyYaml}  - name: deny-contractor-chat
    effect: deny
    actions: ["create:chat"]
    resources: ["/v1/chat"]
    principals: ["group:contractors"]
    description: contractors may not chat
`;
const denyLine = policiesYaml.split('\n').indexOf('  - name: deny-contractor-chat') + 1;

let harness: Harness;
let policyFile: string;

beforeAll(async () => {
  policyFile = join(mkdtempSync(join(tmpdir(), 'assistd-admin-policies-')), 'policies.yaml');
  writeFileSync(policyFile, policiesYaml);
  harness = await Harness.start({
    config: { security: { policies_file: policyFile, key_rotation_days: 30 } },
  });
});
afterAll(async () => {
  await harness.close();
});

const simulate = (body: unknown, principal?: string) =>
  harness.json<Simulation & ErrorBody>('/admin/policies/simulate', {
    method: 'POST',
    body,
    ...(principal === undefined ? {} : { principal }),
  });

describe('GET /admin/keys', () => {
  it('lists the keyring with public facts only', async () => {
    const response = await harness.request('/admin/keys');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain('PRIVATE');
    expect(text).not.toContain('-----BEGIN');
    const body = JSON.parse(text) as KeyList;
    expect(body.object).toBe('list');
    expect(body.rotation_days).toBe(30);
    expect(body.data.length).toBeGreaterThanOrEqual(1);
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown;
    expect(body.data[0]).toEqual({
      kid: expect.any(String) as unknown,
      source: 'generated',
      status: 'active',
      created_at: iso,
      signs_until: iso,
      expires_at: iso,
      retired_at: null,
    });
    const key = body.data[0]!;
    const days =
      (Date.parse(key.signs_until as string) - Date.parse(key.created_at as string)) / 86_400_000;
    expect(days).toBe(30);
  });

  it('refuses a caller who is not an admin (403)', async () => {
    const response = await harness.json<ErrorBody>('/admin/keys', { principal: 'reader' });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('permission_denied');
  });
});

describe('POST /admin/policies/simulate', () => {
  it('allows an admin-style request, naming the statement', async () => {
    const response = await simulate({
      principal: 'ops@example.com',
      groups: ['admin'],
      action: 'LIST:Key',
      resource: '/admin/keys',
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      allowed: true,
      reason: 'allow',
      statement: {
        name: 'default-admin',
        effect: 'allow',
        source: policyFile,
        line: expect.any(Number) as unknown,
        description: 'administrators may do everything, including /admin/* and /metrics',
      },
      explanation: expect.stringMatching(
        /^allow: "ops@example.com" \(groups: admin\) → list:key on \/admin\/keys: allowed by statement "default-admin"/,
      ) as unknown,
    });
  });

  it('denies an unknown action by default', async () => {
    const response = await simulate({
      principal: 'someone',
      action: 'frobnicate:thing',
      resource: '/v1/chat',
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      allowed: false,
      reason: 'default-deny',
      statement: null,
      explanation:
        'deny: "someone" → frobnicate:thing on /v1/chat: no statement allows it (default deny)',
    });
  });

  it('reports an explicit deny with its file and line', async () => {
    const response = await simulate({
      principal: 'c@example.com',
      groups: ['contractors'],
      action: 'create:chat',
      resource: '/v1/chat',
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      allowed: false,
      reason: 'explicit-deny',
      statement: {
        name: 'deny-contractor-chat',
        effect: 'deny',
        source: policyFile,
        line: denyLine,
        description: 'contractors may not chat',
      },
    });
    expect(response.body.explanation).toContain(`(${policyFile}:${denyLine})`);
  });

  it.each([
    ['a missing field', { principal: 'p', action: 'get:x' }],
    ['an unknown field', { principal: 'p', action: 'get:x', resource: '/x', admin: true }],
    ['an empty principal', { principal: '', action: 'get:x', resource: '/x' }],
    [
      'too many groups',
      { principal: 'p', groups: Array(65).fill('g'), action: 'a', resource: '/x' },
    ],
    ['an empty group', { principal: 'p', groups: [''], action: 'a', resource: '/x' }],
    ['a long action', { principal: 'p', action: 'a'.repeat(129), resource: '/x' }],
    ['an action that is not verb:object', { principal: 'p', action: 'fly', resource: '/x' }],
    ['a long resource', { principal: 'p', action: 'a', resource: '/'.repeat(1025) }],
    ['a body that is not an object', ['p']],
  ])('answers 400 in the OpenAI error shape for %s', async (_what, body) => {
    const response = await simulate(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'invalid_request',
      type: expect.any(String) as unknown,
      message: expect.any(String) as unknown,
    });
  });

  it('refuses a caller who is not an admin (403)', async () => {
    const response = await simulate(
      { principal: 'reader', action: 'list:model', resource: '/v1/models' },
      'reader',
    );
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('permission_denied');
  });

  it('is audited with its action and resource', async () => {
    const response = await harness.json<{ data: Array<Record<string, unknown>> }>(
      '/admin/audit?limit=1000&action=get:policy-decision',
    );
    expect(response.status).toBe(200);
    expect(response.body.data.length).toBeGreaterThan(0);
    expect(response.body.data[0]).toMatchObject({
      action: 'get:policy-decision',
      resource: '/admin/policies/simulate',
    });
  });
});
