import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicyYaml } from '../../src/security/policy/default-policy.js';
import { chainHash } from '../../src/security/audit/chain.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import { sampleEntry, tamper } from '../support/audit.js';
import { Harness } from '../support/harness.js';
import { runCliCaptured } from '../support/cli.js';

interface RecordJson {
  seq: number;
  source: string;
  request_id: string | null;
  principal: string | null;
  auth: string | null;
  method: string | null;
  action: string | null;
  resource: string | null;
  decision: string | null;
  statement: string | null;
  status: number | null;
  error: string | null;
  latency_ms: number | null;
  details: Record<string, unknown> | null;
  hash: string;
}

interface ErrorBody {
  error: { code: string; type: string; message: string };
}

let harness: Harness;
let policyFile: string;

function cli(args: string[]) {
  return runCliCaptured([...args, '--data-dir', harness.dataDir], { cwd: harness.dataDir });
}

/** Every stored record, through the admin API. */
async function records(query = ''): Promise<RecordJson[]> {
  const response = await harness.json<{ data: RecordJson[] }>(`/admin/audit?limit=1000${query}`);
  expect(response.status).toBe(200);
  return response.body.data;
}

/** The newest record whose request id is `id`. */
async function byRequest(id: string): Promise<RecordJson> {
  const found = (await records()).filter((record) => record.request_id === id);
  expect(found, id).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  policyFile = join(mkdtempSync(join(tmpdir(), 'assistd-audit-policies-')), 'policies.yaml');
  writeFileSync(policyFile, defaultPolicyYaml);
  harness = await Harness.start({
    config: { security: { policies_file: policyFile }, audit: { checkpoint_every_records: 25 } },
  });
});
afterAll(async () => {
  await harness.close();
});

describe('the audit log over HTTP', () => {
  it('records an allowed call with who, what, the deciding statement and the outcome', async () => {
    const response = await harness.request('/v1/models', {
      headers: { 'x-request-id': 'audit-allowed', 'user-agent': 'audit-test/1' },
    });
    expect(response.status).toBe(200);
    expect(await byRequest('audit-allowed')).toMatchObject({
      source: 'http',
      principal: 'admin',
      auth: 'opaque',
      method: 'GET',
      action: 'list:model',
      resource: '/v1/models',
      decision: 'allow',
      statement: expect.stringMatching(/^default-(models|admin) \(.+:\d+\)$/) as unknown,
      status: 200,
      error: null,
    });
  });

  it('records a denied (403) call with the decision', async () => {
    const response = await harness.request('/admin/audit', {
      principal: 'user@example.com',
      headers: { 'x-request-id': 'audit-denied' },
    });
    expect(response.status).toBe(403);
    expect(await byRequest('audit-denied')).toMatchObject({
      principal: 'user@example.com',
      auth: 'opaque',
      action: 'list:audit',
      resource: '/admin/audit',
      decision: 'default-deny',
      statement: null,
      status: 403,
      error: 'permission_denied',
    });
  });

  it('records an unauthenticated (401) call without a principal', async () => {
    const response = await harness.request('/v1/models', {
      principal: null,
      headers: { 'x-request-id': 'audit-anonymous', authorization: 'Bearer asd_nope' },
    });
    expect(response.status).toBe(401);
    expect(await byRequest('audit-anonymous')).toMatchObject({
      principal: null,
      auth: null,
      action: 'list:model',
      decision: null,
      status: 401,
      error: 'invalid_token',
    });
  });

  it('records a request for a route that does not exist (404), without its query string', async () => {
    const response = await harness.request('/v1/nope?api_key=SHOULD-NOT-BE-STORED', {
      headers: { 'x-request-id': 'audit-missing' },
    });
    expect(response.status).toBe(404);
    expect(await byRequest('audit-missing')).toMatchObject({
      principal: 'admin',
      action: null,
      resource: '/v1/nope',
      status: 404,
      error: 'route_not_found',
    });
  });

  it('records a JWT caller with auth "jwt", and leaves health checks out', async () => {
    const issued = await cli(['tokens', 'issue', '--principal', 'jwt-caller@example.com']);
    expect(issued.code).toBe(0);
    const response = await harness.request('/v1/models', {
      principal: null,
      headers: { authorization: `Bearer ${issued.stdout.trim()}`, 'x-request-id': 'audit-jwt' },
    });
    expect(response.status).toBe(200);
    expect(await byRequest('audit-jwt')).toMatchObject({
      principal: 'jwt-caller@example.com',
      auth: 'jwt',
    });
    await harness.request('/health', { principal: null, headers: { 'x-request-id': 'probe' } });
    expect((await records()).some((record) => record.request_id === 'probe')).toBe(false);
  });

  it('never stores message content, tokens or keys', async () => {
    const secretText = `audit-canary-${Date.now()}-purple-elephant`;
    const chat = await harness.request('/v1/chat', {
      body: { messages: [{ role: 'user', content: secretText }] },
      headers: { 'x-request-id': 'audit-chat' },
    });
    expect(chat.status).toBe(200);
    const issued = await cli(['tokens', 'issue', '--principal', 'canary@example.com']);
    expect(issued.code, issued.stderr).toBe(0);
    const jwt = issued.stdout.trim();
    await harness.request('/v1/models', {
      principal: null,
      headers: { authorization: `Bearer ${jwt}` },
    });
    // Pasted where a path belongs: a route that does not exist, and a conversation id.
    await harness.request(`/v1/${jwt}`, { headers: { 'x-request-id': 'audit-jwt-path' } });
    await harness.request(`/v1/conversations/${jwt}`);
    await harness.server.audit.checkpoint();

    const db = new Database(join(harness.dataDir, 'assistd.db'), { readonly: true });
    const rows = JSON.stringify(db.prepare('SELECT * FROM audit_records').all());
    const checkpoints = JSON.stringify(db.prepare('SELECT * FROM audit_checkpoints').all());
    db.close();
    const file = readFileSync(join(harness.dataDir, 'audit', 'checkpoints.jsonl'), 'utf8');
    const keyFile = readFileSync(join(harness.dataDir, 'master.key'), 'utf8');
    // The secret is base64url, which may itself hold '_'.
    const adminSecret = harness.adminToken.split('_').slice(2).join('_');
    for (const text of [rows, checkpoints, file]) {
      expect(text).not.toContain(secretText);
      expect(text).not.toContain(harness.adminToken);
      expect(text).not.toContain(adminSecret);
      expect(text).not.toContain(jwt);
      expect(text).not.toContain(jwt.split('.')[2]!.slice(0, 24));
      expect(text).not.toContain(jwt.split('.')[1]!.slice(0, 24));
      expect(text).not.toContain('SHOULD-NOT-BE-STORED');
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(keyFile.trim().slice(-40));
    }
    expect(await byRequest('audit-chat')).toMatchObject({ action: 'create:chat', status: 200 });
    expect(await byRequest('audit-jwt-path')).toMatchObject({
      status: 404,
      resource: `/v1/${jwt.split('.')[0]!}.…`,
    });
  });

  it('answers the admin query with filters, and the verification', async () => {
    const denied = await records('&status=403');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((record) => record.status === 403)).toBe(true);
    const mine = await records('&principal=user%40example.com&action=LIST:AUDIT');
    expect(mine.map((record) => record.request_id)).toContain('audit-denied');
    const page = await harness.json<{ data: RecordJson[]; has_more: boolean; next_after: number }>(
      '/admin/audit?after=1&limit=2',
    );
    expect(page.body.data.map((record) => record.seq)).toEqual([2, 3]);
    expect(page.body).toMatchObject({ has_more: true, next_after: 3 });
    // The newest seq at the time of the read: past this page, and the same the verification counts.
    const { head_seq: headSeq } = page.body as unknown as { head_seq: number };
    expect(headSeq).toBeGreaterThan(3);
    const tail = await harness.json<{ data: RecordJson[] }>(
      `/admin/audit?after=${headSeq - 1}&limit=5`,
    );
    expect(tail.body.data.map((record) => record.seq)).toEqual([headSeq, headSeq + 1]);
    const filtered = await harness.json<{ has_more: boolean; next_after: number }>(
      '/admin/audit?status=403&after=2',
    );
    expect(filtered.body.has_more).toBe(false);
    expect(filtered.body.next_after).toBeGreaterThan(page.body.next_after);
    const bad = await harness.json<ErrorBody>('/admin/audit?limit=0');
    expect(bad.status).toBe(400);

    const verification = await harness.json<{ intact: boolean; records: number }>(
      '/admin/audit/verify',
    );
    expect(verification.status).toBe(200);
    expect(verification.body.intact).toBe(true);
    expect(verification.body.records).toBeGreaterThan(10);
    for (const from of ['abc', '0', String(headSeq + 1000)]) {
      const refused = await harness.json<ErrorBody>(`/admin/audit/verify?from_checkpoint=${from}`);
      expect(refused.status, from).toBe(400);
      expect(refused.body.error).toMatchObject({
        code: 'invalid_request',
        param: 'from_checkpoint',
      });
    }
  });

  it('records policy reloads, including a rejected file', async () => {
    writeFileSync(
      policyFile,
      `${defaultPolicyYaml}  - name: extra\n    effect: allow\n    actions: ["get:chat"]\n    resources: ["/v1/chat"]\n    principals: ["*"]\n`,
    );
    await harness.server.reload();
    writeFileSync(policyFile, 'policies:\n  - name: broken\n    effect: permit\n');
    await harness.server.reload();
    const reloads = (await records('&action=update:policy')).filter((r) => r.source === 'server');
    expect(reloads.map((record) => record.error)).toEqual([null, 'invalid_policy_file']);
    expect(reloads[0]!.details).toMatchObject({ statements: 5 });
  });

  it('fails closed: a request whose record cannot be written gets 503 audit_unavailable', async () => {
    const before = harness.server.audit.auditWriteFailures;
    const db = new Database(join(harness.dataDir, 'assistd.db'));
    db.exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_records
      BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    try {
      const refused = await harness.json<ErrorBody>('/v1/models');
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'audit_unavailable', type: 'server_error' });
      const chat = await harness.json<ErrorBody>('/v1/chat', {
        body: { messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(chat.status).toBe(503);
      expect(chat.body.error.code).toBe('audit_unavailable');
      // A stream is refused before its first byte: a JSON error, not an event stream.
      const stream = await harness.request('/v1/chat', {
        body: { messages: [{ role: 'user', content: 'hi' }], stream: true },
      });
      expect(stream.status).toBe(503);
      expect(stream.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await stream.json()) as ErrorBody).error.code).toBe('audit_unavailable');
      expect(harness.server.audit.auditWriteFailures).toBeGreaterThanOrEqual(before + 3);
      expect(harness.logs()).toMatch(/audit log write failed/);
    } finally {
      db.exec('DROP TRIGGER audit_broken');
      db.close();
    }
    expect((await harness.request('/v1/models')).status).toBe(200);
  });

  it('records CLI operations: keys, tokens (jti and principal, never the token), crypto', async () => {
    const issued = await cli(['tokens', 'issue', '--principal', 'cli-subject@example.com']);
    const jti = /issued token (\S+) for/.exec(issued.stderr)![1]!;
    expect((await cli(['tokens', 'revoke', jti])).code).toBe(0);
    expect((await cli(['keys', 'rotate'])).code).toBe(0);
    expect((await cli(['keys', 'retire', 'no-such-kid'])).code).toBe(2);
    expect((await cli(['crypto', 'rotate-master'])).code).toBe(0);

    const cliRecords = (await records()).filter((record) => record.source === 'cli');
    const issue = cliRecords.find((record) => record.details?.token_id === jti)!;
    expect(issue).toMatchObject({
      action: 'create:token',
      auth: 'local',
      error: null,
      details: { type: 'jwt', subject: 'cli-subject@example.com', token_id: jti },
    });
    // The revocation names to whom the token was issued, as its issue did.
    expect(
      cliRecords.find((r) => r.action === 'delete:token' && r.details?.token_id === jti),
    ).toMatchObject({
      details: { principal: 'cli-subject@example.com', groups: [], issued_here: true },
    });
    expect(JSON.stringify(cliRecords)).not.toContain(issued.stdout.trim());
    const actions = cliRecords.map((record) => `${record.action} ${record.error ?? 'ok'}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'delete:token ok',
        'create:key ok',
        'delete:key keyring_error',
        'create:master-key ok',
      ]),
    );
    expect(cliRecords.find((r) => r.action === 'delete:key')!.resource).toBe(
      '/admin/keys/no-such-kid',
    );
  });

  it('prints records with audit tail', async () => {
    const tail = await cli(['audit', 'tail', '-n', '3', '--json']);
    expect(tail.code).toBe(0);
    const lines = tail.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as RecordJson);
    expect(lines).toHaveLength(3);
    expect(lines[1]!.seq).toBe(lines[0]!.seq + 1);
    const human = await cli(['audit', 'tail', '-n', '1']);
    expect(human.stdout).toMatch(/^\d+ \d{4}-\d\d-\d\dT\S+Z (http|cli|server) /);
  });

  it('leaves a fully anchored log after shutdown, and audit verify names a tampered record', async () => {
    await harness.server.shutdown('audit test');
    const verified = await cli(['audit', 'verify', '--strict']);
    expect(verified.stdout).toMatch(/OK: every record matches/);
    expect(verified.code).toBe(0);
    expect(existsSync(join(harness.dataDir, 'audit', 'checkpoints.jsonl'))).toBe(true);

    const db = new Database(join(harness.dataDir, 'assistd.db'));
    tamper(db, `UPDATE audit_records SET status = 299 WHERE seq = 4`);
    db.close();
    const tampered = await cli(['audit', 'verify']);
    expect(tampered.code).toBe(3);
    expect(tampered.stdout).toMatch(/PROBLEM modified at 4: record 4 does not match its hash/);
    const json = await cli(['audit', 'verify', '--json']);
    const full = JSON.parse(json.stdout) as { lastCheckpoint: { seq: number } };
    expect(full).toMatchObject({
      intact: false,
      from: 1,
      problems: [{ kind: 'modified', seq: 4 }],
      unanchored: null,
    });
    // From the last checkpoint on: record 4 is before it, so this check does not see it.
    const last = full.lastCheckpoint.seq;
    const recent = await cli(['audit', 'verify', '--from-checkpoint', String(last)]);
    expect(recent.code).toBe(0);
    expect(recent.stdout).toContain(`1 record checked (${last}–${last})`);
    expect(recent.stdout).toMatch(new RegExp(`OK: every record from ${last} on matches`));
    for (const from of ['2', 'x']) {
      const refused = await cli(['audit', 'verify', '--from-checkpoint', from]);
      expect(refused.code, from).toBe(2);
      expect(refused.stderr).toMatch(/--from-checkpoint/);
    }
    // A dropped table is tampering too, not a fault of assistd.
    const dropped = new Database(join(harness.dataDir, 'assistd.db'));
    tamper(dropped, 'DROP TABLE audit_records');
    dropped.close();
    const gone = await cli(['audit', 'verify']);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(
      /audit log cannot be read \(no such table: audit_records\): its tables were dropped/,
    );
    expect(gone.stderr).not.toContain('unexpected error');
  });
});

describe('checkpoint gaps from the command line', () => {
  it('cannot come from a command run before any signing key: it makes one as it ends', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-gap-'));
    const run = (args: string[]) =>
      runCliCaptured([...args, '--data-dir', dataDir], { cwd: dataDir });
    // Before the first start: no key yet, and this command needs none itself.
    expect((await run(['crypto', 'rotate-master'])).code).toBe(0);
    const verified = await run(['audit', 'verify', '--strict']);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/OK: every record matches/);
  });

  it('are named by audit verify and taken once audit accept-gaps signed them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-gap-'));
    const run = (args: string[]) =>
      runCliCaptured([...args, '--data-dir', dataDir], { cwd: dataDir });
    expect((await run(['tokens', 'issue', '--principal', 'gap@example.com'])).code).toBe(0);
    // Records that waited three hours with no checkpoint, as when every checkpoint after them
    // was removed (written straight into the table, as someone with the file could).
    const store = openSqliteStore({ path: join(dataDir, 'assistd.db') });
    const now = Date.now();
    await store.audit.append(
      [sampleEntry(1, { at: now - 3 * 3_600_000 }), sampleEntry(2, { at: now })],
      chainHash,
    );
    await store.close();
    const found = await run(['audit', 'verify', '--json']);
    expect(found.code).toBe(3);
    const { gaps } = JSON.parse(found.stdout) as { gaps: Array<{ from: number; to: number }> };
    expect(gaps).toHaveLength(1);
    const range = `${gaps[0]!.from}-${gaps[0]!.to}`;
    // Gaps are named: an operator accepts the one explained, not whatever else is there.
    expect((await run(['audit', 'accept-gaps'])).code).toBe(2);
    const wrong = await run(['audit', 'accept-gaps', '--gap', '1-2']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`no such gap: 1-2 (verify names ${range})`);
    const accepted = await run(['audit', 'accept-gaps', '--gap', range]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(`accepted records ${gaps[0]!.from}–${gaps[0]!.to}`);
    const verified = await run(['audit', 'verify', '--strict']);
    expect(verified.code, verified.stdout).toBe(0);
    expect((await run(['audit', 'accept-gaps', '--all'])).stderr).toContain(
      'no checkpoint gap to accept',
    );
  });
});
