import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';
import { runCliCaptured } from '../support/cli.js';
import { assistdBin, run } from '../support/process.js';

interface Issued {
  id: string;
  token: string;
  type: string;
  principal: string;
  groups: string[];
  kid: string;
  created_at: string;
  expires_at: string;
}

interface TokenRow {
  id: string;
  type: 'jwt' | 'opaque';
  principal: string;
  groups: string[];
  status: string;
  issued_by: string | null;
  kid: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

interface TokenList {
  object: string;
  data: TokenRow[];
  next_cursor: string | null;
}

interface ErrorBody {
  error: { code: string; type: string; message: string; param?: string | null };
}

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});

const issue = (body: unknown, principal?: string) =>
  harness.json<Issued & ErrorBody>('/admin/tokens', {
    method: 'POST',
    body,
    ...(principal === undefined ? {} : { principal }),
  });

const list = (query = '') => harness.json<TokenList & ErrorBody>(`/admin/tokens${query}`);

/** A request with a bearer token the harness did not make. */
const withBearer = (token: string, path = '/v1/models') =>
  fetch(`${harness.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('/admin/tokens', () => {
  it('issues a JWT that works at once, lists it, and revokes it everywhere at once', async () => {
    const issued = await issue({ principal: 'carol@example.com', groups: ['dev'], ttl: '2h' });
    expect(issued.status).toBe(201);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    expect(issued.body).toMatchObject({
      type: 'jwt',
      principal: 'carol@example.com',
      groups: ['dev'],
    });
    const lifetime = Date.parse(issued.body.expires_at) - Date.parse(issued.body.created_at);
    expect(Math.abs(lifetime - 7_200_000)).toBeLessThan(2000);
    const { token, id } = issued.body;
    expect(token.split('.')).toHaveLength(3);
    expect((await withBearer(token)).status).toBe(200);

    const listed = await list();
    expect(listed.status).toBe(200);
    const row = listed.body.data.find((entry) => entry.id === id);
    expect(row).toMatchObject({
      type: 'jwt',
      principal: 'carol@example.com',
      groups: ['dev'],
      status: 'active',
      kid: issued.body.kid,
      revoked_at: null,
    });
    // The bootstrap administrator token (opaque) is listed too; no body holds a secret.
    expect(listed.body.data.some((entry) => entry.type === 'opaque')).toBe(true);
    expect(JSON.stringify(listed.body)).not.toContain(token);

    const revoked = await harness.json<{ id: string; revoked: boolean; already_revoked: boolean }>(
      `/admin/tokens/${id}`,
      { method: 'DELETE' },
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id, revoked: true, already_revoked: false, issued_here: true });
    // Its audit record names the token's principal and groups, as the issue's does.
    const revocations = await harness.json<{ data: Array<Record<string, unknown>> }>(
      '/admin/audit?action=delete:token&limit=100',
    );
    expect(
      revocations.body.data.find(
        (entry) => (entry.details as Record<string, unknown> | null)?.token_id === id,
      )?.details,
    ).toEqual({
      token_id: id,
      already_revoked: false,
      issued_here: true,
      principal: 'carol@example.com',
      groups: ['dev'],
    });
    const refused = await withBearer(token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ErrorBody).error.code).toBe('token_revoked');
    const again = await harness.json<{ already_revoked: boolean }>(`/admin/tokens/${id}`, {
      method: 'DELETE',
    });
    expect(again.body.already_revoked).toBe(true);
    // Any id may be revoked (a JWT from another issuer is not registered here), and the answer
    // says whether this service issued it, so a mistyped id shows.
    const unknown = await harness.json<{ issued_here: boolean }>(
      '/admin/tokens/never-issued-here',
      {
        method: 'DELETE',
      },
    );
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ revoked: true, issued_here: false });
    const after = (await list()).body.data.find((entry) => entry.id === id);
    expect(after?.status).toBe('revoked');
    expect(after?.revoked_at).toMatch(/^\d{4}-/);
  });

  it('names who issued a token, puts admin tokens in the admin group, audits without the token', async () => {
    const issued = await issue({ principal: 'ops@example.com', admin: true, ttl: '15m' });
    expect(issued.status).toBe(201);
    expect(issued.body.groups).toEqual(['admin']);
    // An admin token from the API can call the admin API.
    expect((await withBearer(issued.body.token, '/admin/keys')).status).toBe(200);
    const row = (await list()).body.data.find((entry) => entry.id === issued.body.id);
    expect(row?.issued_by).toEqual(expect.any(String));

    const audit = await harness.json<{ data: Array<Record<string, unknown>> }>(
      '/admin/audit?action=create:token&limit=50',
    );
    const record = audit.body.data.find(
      (entry) => (entry.details as Record<string, unknown> | null)?.token_id === issued.body.id,
    );
    expect(record).toMatchObject({ status: 201, resource: '/admin/tokens' });
    expect(record?.details).toMatchObject({ subject: 'ops@example.com', groups: ['admin'] });
    expect(JSON.stringify(audit.body)).not.toContain(issued.body.token);
  });

  it('pages newest first with a cursor and hides expired tokens unless asked', async () => {
    const ids: string[] = [];
    for (const name of ['p1', 'p2', 'p3']) {
      ids.push((await issue({ principal: `${name}@example.com`, ttl: '1h' })).body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { status: number; body: TokenList & ErrorBody } = await list(
        `?limit=2${cursor === '' ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((entry) => entry.id));
      cursor = page.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    // The three newest tokens, newest first.
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    const all = (await list('?include_expired=true&limit=200')).body.data.length;
    expect(all).toBe(seen.length);
  });

  it('refuses bad requests with 400 naming the field, and stores nothing', async () => {
    const before = (await list('?limit=200')).body.data.length;
    const cases: Array<[unknown, string]> = [
      [{ principal: '' }, 'principal'],
      [{ principal: ' leading' }, 'principal'],
      [{ principal: 'a', ttl: 'forever' }, 'ttl'],
      [{ principal: 'a', ttl: '400d' }, 'ttl'],
      [{ principal: 'a', groups: ['has space'] }, 'groups'],
      [{ principal: 'a', groups: 'dev' }, 'groups'],
      [{ principal: 'a', admin: 'yes' }, 'admin'],
      [{ principal: 'a', scope: 'all' }, 'scope'],
      [{ principal: 7 }, 'principal'],
      // A lone surrogate (found by the fuzz suite: the token was stored, then its audit record
      // could not be hashed and the request failed with 503).
      [{ principal: '\ud800' }, 'principal'],
      [{ principal: 'ok\udfff' }, 'principal'],
      // Bidirectional formatting: "\u202eevil" shows as "live" in a list of names.
      [{ principal: '\u202eevil' }, 'principal'],
      [{ principal: 'x\u2067y' }, 'principal'],
      // Names that display as another: a zero-width space, an Arabic letter mark, a trailing space.
      [{ principal: 'admin\u200b' }, 'principal'],
      [{ principal: 'x\u061cy' }, 'principal'],
      [{ principal: 'admin ' }, 'principal'],
      [{ principal: 'a\u2028b' }, 'principal'],
    ];
    for (const [body, param] of cases) {
      const response = await issue(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
    }
    expect((await issue('not json at all')).status).toBe(400);
    expect((await list('?limit=0')).status).toBe(400);
    expect((await list('?include_expired=maybe')).status).toBe(400);
    const badCursor = await list('?cursor=bm90LWEtY3Vyc29y');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.param).toBe('cursor');
    const badId = await harness.json<ErrorBody>('/admin/tokens/a%20b', { method: 'DELETE' });
    expect(badId.status).toBe(400);
    expect(badId.body.error.param).toBe('id');
    expect((await list('?limit=200')).body.data.length).toBe(before);
  });

  it('refuses a whole opaque token where its id belongs, and records no secret', async () => {
    const token = await harness.token('pasted@example.com');
    const [, id, secret] = /^asd_([0-9a-f]{16})_(.+)$/.exec(token)!;
    const refused = await harness.json<ErrorBody>(`/admin/tokens/${token}`, { method: 'DELETE' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'id' });
    // The answer says how to revoke it, by its id, and never repeats the secret.
    expect(refused.body.error.message).toContain(id);
    expect(JSON.stringify(refused.body)).not.toContain(secret);
    // Nothing was revoked: the token still works.
    expect((await withBearer(token)).status).toBe(200);
    // The command line refuses it too, before it records anything.
    const cli = await run(process.execPath, [
      assistdBin,
      'tokens',
      'revoke',
      token,
      '--data-dir',
      harness.dataDir,
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(`assistd tokens revoke ${id}`);
    expect(cli.stderr).not.toContain(secret);
    const audit = await harness.json<{ data: Array<{ resource: string; status: number }> }>(
      '/admin/audit?action=delete:token&limit=100',
    );
    expect(audit.body.data.at(-1)).toMatchObject({
      resource: `/admin/tokens/asd_${id}_…`,
      status: 400,
    });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    // Revoked by its id, it stops working.
    expect((await harness.json(`/admin/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await withBearer(token)).status).toBe(401);
    // An id this service never issued is revoked too (a JWT from another issuer may carry it),
    // with a note, so a mistyped one shows.
    const unknown = await run(process.execPath, [
      assistdBin,
      'tokens',
      'revoke',
      'never-issued-cli',
      '--data-dir',
      harness.dataDir,
    ]);
    expect(unknown.code).toBe(0);
    expect(unknown.stderr).toContain('note: no token with id never-issued-cli was issued here');
  });

  it('is for administrators only under the built-in policies', async () => {
    expect((await issue({ principal: 'x@example.com' }, 'reader')).status).toBe(403);
    expect((await harness.json('/admin/tokens', { principal: 'reader' })).status).toBe(403);
    const response = await harness.json<ErrorBody>('/admin/tokens/anything', {
      method: 'DELETE',
      principal: 'reader',
    });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('permission_denied');
  });

  it('lists the same tokens from the command line, never a secret', async () => {
    const issued = await issue({ principal: 'cli-view@example.com', ttl: '1h' });
    const args = ['tokens', 'list', '--data-dir', harness.dataDir];
    const table = await run(process.execPath, [assistdBin, ...args]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+TYPE\s+PRINCIPAL\s+GROUPS\s+STATUS/);
    expect(table.stdout).toContain(issued.body.id);
    expect(table.stdout).not.toContain(issued.body.token);
    const json = await run(process.execPath, [assistdBin, ...args, '--json']);
    const rows = JSON.parse(json.stdout) as TokenRow[];
    expect(rows.find((row) => row.id === issued.body.id)?.principal).toBe('cli-view@example.com');
    const bad = await run(process.execPath, [assistdBin, ...args, '--limit', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit');
  });
});

describe('/admin/tokens with no key that can sign', () => {
  it('answers 503 signing_key_unavailable, saying why, not 500', async () => {
    const own = await Harness.start();
    try {
      const keys = await runCliCaptured(['keys', 'list', '--json', '--data-dir', own.dataDir], {
        cwd: own.dataDir,
      });
      const active = (JSON.parse(keys.stdout) as Array<{ kid: string; status: string }>).find(
        (key) => key.status === 'active',
      )!;
      const retired = await runCliCaptured(
        ['keys', 'retire', active.kid, '--data-dir', own.dataDir],
        { cwd: own.dataDir },
      );
      expect(retired.code, retired.stderr).toBe(0);
      const refused = await own.json<{ error: { code: string; message: string } }>(
        '/admin/tokens',
        { method: 'POST', body: { principal: 'nobody@example.com' } },
      );
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('signing_key_unavailable');
      expect(refused.body.error.message).toMatch(/no signing key is active/);
    } finally {
      await own.close();
    }
  });
});
