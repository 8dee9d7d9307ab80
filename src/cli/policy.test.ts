import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mixedYaml, seedYaml } from '../security/policy/__fixtures__/policies.js';
import { defaultPolicyYaml } from '../security/policy/default-policy.js';
import { deniedExitCode } from './policy.js';
import { runCliCaptured } from '../../test/support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-cli-policy-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
writeFileSync(join(folder, 'seed.yaml'), seedYaml);
writeFileSync(join(folder, 'mixed.yaml'), mixedYaml);
writeFileSync(join(folder, 'bad.yaml'), seedYaml.replace('effect: allow', 'effect: permit'));
writeFileSync(join(folder, 'config.yaml'), 'port: 1234\nsecurity:\n  policies_file: seed.yaml\n');
writeFileSync(join(folder, 'plain-config.yaml'), 'port: 1234\n');

function cli(args: string[], env: Record<string, string> = {}) {
  return runCliCaptured(['policy', ...args], { cwd: folder, env });
}

const check = (...args: string[]) => ['check', ...args];
const dev = ['--principal', 'dev@example.com'];

describe('assistd policy check', () => {
  it('exits 0 and names the allowing statement', async () => {
    const result = await cli(
      check(...dev, '--action', 'get:chat', '--resource', '/v1/chat', '--policies', 'seed.yaml'),
    );
    expect(result).toEqual({
      code: 0,
      stdout: `policies: ${join(folder, 'seed.yaml')} (2 statements)\nallow: "dev@example.com" → get:chat on /v1/chat: allowed by statement "read-only" (${join(folder, 'seed.yaml')}:7)\n`,
      stderr: '',
    });
  });

  it(`exits ${deniedExitCode} on a default deny`, async () => {
    const result = await cli(
      check(...dev, '--action', 'create:chat', '--resource', '/v1/chat', '--policies', 'seed.yaml'),
    );
    expect(result.code).toBe(deniedExitCode);
    expect(result.stdout).toContain('no statement allows it (default deny)');
    expect(result.stderr).toBe('assistd: access denied\n');
  });

  it('takes groups and names an explicit deny', async () => {
    const result = await cli([
      'check',
      '--principal',
      'carol@example.com',
      '--group',
      'staff',
      '--group',
      'contractors',
      '--action',
      'create:chat',
      '--resource',
      '/v1/chat',
      '--policies',
      'mixed.yaml',
      '--json',
    ]);
    expect(result.code).toBe(deniedExitCode);
    expect(JSON.parse(result.stdout)).toMatchObject({
      principal: { subject: 'carol@example.com', groups: ['staff', 'contractors'] },
      decision: {
        allowed: false,
        reason: 'explicit-deny',
        statement: { name: 'no-chat-for-contractors', line: 7 },
      },
    });
  });

  it('reads security.policies_file from --config or ASSISTD_CONFIG', async () => {
    const args = check(...dev, '--action', 'list:chat', '--resource', '/v1/chat');
    expect((await cli([...args, '--config', 'config.yaml'])).stdout).toContain('"read-only"');
    const fromEnv = await cli(args, { ASSISTD_CONFIG: 'config.yaml' });
    expect(fromEnv.stdout).toContain('"read-only"');
  });

  it('uses the built-in default without a policy file', async () => {
    const args = check(...dev, '--action', 'create:chat', '--resource', '/v1/chat');
    for (const result of [await cli(args), await cli([...args, '--config', 'plain-config.yaml'])]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('policies: built-in default');
      expect(result.stdout).toContain('"default-chat"');
    }
  });

  it('exits 2 with the line and reason for an invalid file', async () => {
    const result = await cli(
      check(...dev, '--action', 'get:chat', '--resource', '/v1/chat', '--policies', 'bad.yaml'),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(folder, 'bad.yaml')}:3:13: policies[0].effect: must be "allow" or "deny"`,
    );
  });

  it('exits 2 for bad input', async () => {
    const base = [...dev, '--action', 'get:chat', '--resource', '/v1/chat'];
    expect((await cli(check('--action', 'get:chat', '--resource', '/x'))).code).toBe(2);
    expect((await cli(check(...dev, '--action', 'get:*', '--resource', '/x'))).stderr).toContain(
      'names one request, not a pattern',
    );
    // Not an action at all: bad input, not a deny.
    const fly = await cli(check(...dev, '--action', 'fly', '--resource', '/x'));
    expect([fly.code, fly.stderr]).toEqual([
      2,
      'assistd: --action is one action, verb:object (letters, digits, _ . -), e.g. create:chat ' +
        '(see `assistd policy routes`)\n',
    ]);
    const both = await cli(check(...base, '--policies', 'seed.yaml', '--config', 'config.yaml'));
    expect([both.code, both.stderr]).toEqual([
      2,
      'assistd: give --policies or --config, not both\n',
    ]);
    expect((await cli(check(...base, '--policies', 'missing.yaml'))).stderr).toContain(
      'no such file',
    );
  });
});

describe('assistd policy validate', () => {
  it('exits 0 for a valid file and prints warnings', async () => {
    writeFileSync(
      join(folder, 'warn.yaml'),
      seedYaml.replace('["get:*", "list:*"]', '["read:*", "list:*"]'),
    );
    expect(await cli(['validate', 'seed.yaml'])).toEqual({
      code: 0,
      stdout: `${join(folder, 'seed.yaml')}: valid, 2 statements\n`,
      stderr: '',
    });
    const warned = await cli(['validate', 'warn.yaml']);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(':9:15: policies[1].actions[0]: verb "read"');
  });

  it('exits 2 with every problem and its line', async () => {
    const result = await cli(['validate', 'bad.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `assistd: invalid policy file ${join(folder, 'bad.yaml')}:\n${join(folder, 'bad.yaml')}:3:13: policies[0].effect: must be "allow" or "deny" (lower case)\n`,
    );
  });
});

describe('assistd policy default / routes', () => {
  it('prints the built-in policies and the route table', async () => {
    expect((await cli(['default'])).stdout).toBe(defaultPolicyYaml);
    const routes = await cli(['routes']);
    expect(routes.code).toBe(0);
    expect(routes.stdout).toContain('| POST   | `/v1/chat`');
  });
});
