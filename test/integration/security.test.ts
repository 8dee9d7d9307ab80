import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedYaml } from '../../src/security/policy/__fixtures__/policies.js';
import { Harness } from '../support/harness.js';
import { runCliCaptured } from '../support/cli.js';

interface ErrorBody {
  error: { code: string; type: string; message: string };
}

/** Runs the real CLI in-process against the harness's data dir. */
async function cli(harness: Harness, args: string[]) {
  const run = await runCliCaptured([...args, '--data-dir', harness.dataDir], {
    cwd: harness.dataDir,
  });
  return { ...run, stdout: run.stdout.trim() };
}

const hello = { messages: [{ role: 'user', content: 'hello' }] };

describe('policies over HTTP (the seed file from the issue)', () => {
  let harness: Harness;
  let policyFile: string;
  beforeAll(async () => {
    policyFile = join(mkdtempSync(join(tmpdir(), 'assistd-policies-')), 'policies.yaml');
    writeFileSync(policyFile, seedYaml);
    harness = await Harness.start({ config: { security: { policies_file: policyFile } } });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('lets admin@example.com do everything and refuses dev@example.com a chat with 403', async () => {
    const admin = await harness.json('/v1/chat', { body: hello, principal: 'admin@example.com' });
    expect(admin.status).toBe(200);
    const dev = await harness.json<ErrorBody>('/v1/chat', {
      body: hello,
      principal: 'dev@example.com',
    });
    expect(dev.status).toBe(403);
    expect(dev.body.error).toMatchObject({
      code: 'permission_denied',
      type: 'permission_error',
      message: 'No policy allows create:chat on /v1/chat.',
    });
    // Nobody else is allowed anything: default deny.
    const other = await harness.json<ErrorBody>('/v1/models', { principal: 'eve@example.com' });
    expect(other.status).toBe(403);
    // Unknown routes still answer 404 to an authenticated caller, 401 to an anonymous one.
    expect((await harness.json('/v1/nope', { principal: 'admin@example.com' })).status).toBe(404);
    expect((await harness.json('/v1/nope', { principal: null })).status).toBe(401);
  });

  it('reloads a changed file without a restart, and keeps the policies when the new file is invalid', async () => {
    writeFileSync(
      policyFile,
      `${seedYaml}  - name: dev-chat\n    effect: allow\n    actions: ["create:chat"]\n    resources: ["/v1/chat"]\n    principals: ["dev@example.com"]\n`,
    );
    await harness.server.reload();
    expect(
      (await harness.json('/v1/chat', { body: hello, principal: 'dev@example.com' })).status,
    ).toBe(200);
    writeFileSync(policyFile, 'policies:\n  - name: broken\n    effect: permit\n');
    await harness.server.reload();
    expect(harness.logs()).toMatch(/policies\.yaml:3:\d+/);
    expect(
      (await harness.json('/v1/chat', { body: hello, principal: 'dev@example.com' })).status,
    ).toBe(200);
  });
});

describe('JWTs end to end', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(async () => {
    await harness.close();
  });

  it('serves the JWKS without a token, and accepts a JWT issued offline at once', async () => {
    const jwks = await harness.json<{ keys: Array<{ kid: string; kty: string }> }>(
      '/.well-known/jwks.json',
      { principal: null },
    );
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    const issued = await cli(harness, ['tokens', 'issue', '--principal', 'jwt-user@example.com']);
    expect(issued.code).toBe(0);
    expect(issued.stdout.split('.')).toHaveLength(3);
    const header = JSON.parse(
      Buffer.from(issued.stdout.split('.')[0]!, 'base64url').toString(),
    ) as {
      kid: string;
    };
    expect(header.kid).toBe(jwks.body.keys[0]!.kid);
    const models = await harness.json('/v1/models', {
      principal: null,
      headers: { authorization: `Bearer ${issued.stdout}` },
    });
    expect(models.status).toBe(200);

    // Revoked offline: refused at once.
    const jti = /issued token (\S+) for/.exec(issued.stderr)![1]!;
    expect((await cli(harness, ['tokens', 'revoke', jti])).code).toBe(0);
    const revoked = await harness.json<ErrorBody>('/v1/models', {
      principal: null,
      headers: { authorization: `Bearer ${issued.stdout}` },
    });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('token_revoked');
  });

  it('keeps verifying tokens of the previous key after keys rotate, and lists both keys', async () => {
    const before = await cli(harness, ['tokens', 'issue', '--principal', 'a@example.com']);
    const rotated = await cli(harness, ['keys', 'rotate']);
    expect(rotated.code).toBe(0);
    const after = await cli(harness, ['tokens', 'issue', '--principal', 'b@example.com']);
    for (const token of [before.stdout, after.stdout]) {
      const response = await harness.json('/v1/models', {
        principal: null,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
    }
    const list = await cli(harness, ['keys', 'list', '--json']);
    const keys = JSON.parse(list.stdout) as Array<{ kid: string; status: string }>;
    expect(keys.map((key) => key.status)).toEqual(['verifying-only', 'active']);
    // The running server signs with the key the CLI made, at once: its private key was sealed
    // under a data key this process had never loaded (a 500 until a restart, before).
    const minted = await harness.json<{ token: string }>('/admin/tokens', {
      method: 'POST',
      body: { principal: 'c@example.com', ttl: '1h' },
    });
    expect(minted.status).toBe(201);
    const header = JSON.parse(
      Buffer.from(minted.body.token.split('.')[0]!, 'base64url').toString(),
    ) as { kid: string };
    expect(header.kid).toBe(keys[1]!.kid);
    const jwks = await harness.json<{ keys: unknown[] }>('/.well-known/jwks.json', {
      principal: null,
    });
    expect(jwks.body.keys).toHaveLength(2);
  });
});
