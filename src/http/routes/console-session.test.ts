import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../../test/support/cli.js';
import { findLeaks, Harness } from '../../../test/support/harness.js';
import { mintToken } from '../../security/tokens.js';
import { openStore } from '../../storage/open.js';
import { csrfTokenFor } from '../session-cookie.js';

type ErrorBody = { error: { code: string; type: string; message: string } };
interface SessionBody {
  principal: string;
  groups: string[];
  admin: boolean;
  csrf_token: string;
  expires_at: string | null;
}
interface AuditJson {
  principal: string | null;
  action: string | null;
  status: number;
  error: string | null;
  auth: string | null;
  details: Record<string, unknown> | null;
  request_id: string;
}

const hello = { messages: [{ role: 'user', content: 'hello from the console' }] };

let harness: Harness;
/** Every token a test handed out: none may show up in a log line or audit record. */
const tokens: string[] = [];

beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});

/** An opaque token straight into the store; `ttlMs` undefined: one that never expires. */
async function opaqueToken(principal: string, ttlMs: number | undefined): Promise<string> {
  const store = await openStore(harness.config);
  try {
    const issued = mintToken({ principal, ttlMs, now: Date.now() });
    await store.tokens.insertToken(issued.record);
    tokens.push(issued.token);
    return issued.token;
  } finally {
    await store.close();
  }
}

/** A JWT from `assistd tokens issue`, as a user would paste it. */
async function jwt(principal: string, ...flags: string[]): Promise<string> {
  const run = await runCliCaptured(
    ['tokens', 'issue', '--principal', principal, ...flags, '--data-dir', harness.dataDir],
    { cwd: harness.dataDir },
  );
  expect(run.code, run.stderr).toBe(0);
  const token = run.stdout.trim();
  tokens.push(token);
  return token;
}

async function signIn(token: string, headers: Record<string, string> = {}) {
  return harness.json<SessionBody & ErrorBody>('/console/session', {
    principal: null,
    body: { token },
    headers,
  });
}

const cookieOf = (token: string) => ({ cookie: `theme=dark; assistd_session=${token}` });

describe('POST /console/session', () => {
  it('exchanges a token for an HttpOnly, SameSite=Strict cookie that lives as long as the token', async () => {
    const token = await opaqueToken('erin', 3_600_000);
    const response = await signIn(token, { 'x-request-id': 'console-sign-in' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      principal: 'erin',
      groups: [],
      admin: false,
      csrf_token: csrfTokenFor(token),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });
    expect(Date.parse(response.body.expires_at!) - Date.now()).toBeGreaterThan(3_500_000);
    const cookie = response.headers.get('set-cookie')!;
    const match = /^assistd_session=(\S+); HttpOnly; SameSite=Strict; Path=\/; Max-Age=(\d+)$/.exec(
      cookie,
    );
    expect(match?.[1]).toBe(token);
    expect(Number(match?.[2])).toBeGreaterThan(3500);
    expect(Number(match?.[2])).toBeLessThanOrEqual(3600);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a sign-in another page makes the browser send (login CSRF), same site or not', async () => {
    const token = await opaqueToken('ivy', 3_600_000);
    const own = new URL(harness.url).host;
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      // Another port or subdomain of the same site is another origin.
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://127.0.0.1:1' },
      { origin: 'null' },
    ] as Array<Record<string, string>>) {
      const response = await signIn(token, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(response.body.error.code).toBe('csrf_failed');
      expect(response.headers.get('set-cookie')).toBeNull();
    }
    // A form or a no-cors fetch cannot send JSON; the body is refused before the token is read.
    const form = await harness.json<ErrorBody>('/console/session', {
      principal: null,
      body: `{"token":"=","token":"${token}"}`,
      headers: { 'content-type': 'text/plain' },
    });
    expect(form.status).toBe(400);
    expect(form.body.error.message).toMatch(/Content-Type: application\/json/);
    expect(form.headers.get('set-cookie')).toBeNull();
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', origin: `http://${own}` },
      { 'sec-fetch-site': 'none' },
      {},
    ] as Array<Record<string, string>>) {
      expect((await signIn(token, headers)).status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('takes a JWT, caps the cookie at 12 hours and never outlives the token', async () => {
    const short = await jwt('jay', '--group', 'dev', '--ttl', '15m');
    const first = await signIn(short);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ principal: 'jay', groups: ['dev'], admin: false });
    const maxAge = Number(/Max-Age=(\d+)/.exec(first.headers.get('set-cookie')!)?.[1]);
    expect(maxAge).toBeGreaterThan(880);
    expect(maxAge).toBeLessThanOrEqual(900);
    expect(Math.abs(Date.parse(first.body.expires_at!) - Date.now() - 900_000)).toBeLessThan(
      20_000,
    );

    const long = await jwt('kim', '--admin', '--ttl', '30d');
    const second = await signIn(long);
    expect(second.body).toMatchObject({ principal: 'kim', groups: ['admin'], admin: true });
    expect(second.headers.get('set-cookie')).toContain('; Max-Age=43200');

    const forever = await opaqueToken('lee', undefined);
    const third = await signIn(`  ${forever}\n`);
    expect(third.body.expires_at).toBeNull();
    expect(third.headers.get('set-cookie')).toMatch(
      new RegExp(`^assistd_session=${forever}; .*; Max-Age=43200$`),
    );
  });

  it('refuses bad, expired and missing tokens with the bearer codes and sets no cookie', async () => {
    const expired = await opaqueToken('old', 1);
    await sleep(5);
    const cases: Array<[unknown, number, string]> = [
      [
        { token: 'asd_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        401,
        'invalid_token',
      ],
      [{ token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' }, 401, 'invalid_token'],
      [{ token: 'not a token; Path=/x' }, 401, 'invalid_token'],
      [{ token: expired }, 401, 'expired_token'],
      [{ token: '' }, 400, 'invalid_request'],
      [{ token: '   ' }, 400, 'invalid_request'],
      [{}, 400, 'invalid_request'],
      [{ token: 42 }, 400, 'invalid_request'],
      [{ token: 'x', remember: true }, 400, 'invalid_request'],
      [undefined, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const response = await harness.json<ErrorBody>('/console/session', {
        principal: null,
        method: 'POST',
        ...(body === undefined ? {} : { body }),
      });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code, JSON.stringify(body)).toBe(code);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
  });

  it('is subject to the failed-authentication lockout; asking for a session without one is not', async () => {
    const app = harness.server.app;
    const good = await opaqueToken('mia', 3_600_000);
    const post = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/console/session',
        remoteAddress: '10.7.0.1',
        payload: { token },
      });
    for (let attempt = 0; attempt < harness.config.limits.failed_auth_max; attempt++) {
      expect((await post(`asd_000000000000000${attempt % 10}_${'B'.repeat(43)}`)).statusCode).toBe(
        401,
      );
    }
    const locked = await post(good);
    expect(locked.statusCode).toBe(429);
    expect(locked.json<ErrorBody>().error.code).toBe('auth_locked_out');
    expect(locked.headers['set-cookie']).toBeUndefined();

    // A signed-out console asks who it is on every load: no credential, nothing counted.
    for (let attempt = 0; attempt < harness.config.limits.failed_auth_max + 2; attempt++) {
      const probe = await app.inject({ url: '/console/session', remoteAddress: '10.7.0.2' });
      expect(probe.statusCode).toBe(401);
    }
    const after = await app.inject({
      method: 'POST',
      url: '/console/session',
      remoteAddress: '10.7.0.2',
      payload: { token: good },
    });
    expect(after.statusCode).toBe(200);
  });
});

describe('GET and DELETE /console/session', () => {
  it('say who the cookie is, without setting it again', async () => {
    const token = await opaqueToken('nia', 3_600_000);
    const created = await signIn(token);
    const session = await harness.json<SessionBody>('/console/session', {
      principal: null,
      headers: cookieOf(token),
    });
    expect(session.status).toBe(200);
    expect(session.body).toEqual(created.body);
    expect(session.headers.get('set-cookie')).toBeNull();
    expect(session.headers.get('cache-control')).toBe('no-store');
  });

  it('answer 401 and clear the cookie when it is absent, expired or revoked', async () => {
    const none = await harness.json<ErrorBody>('/console/session', { principal: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('missing_token');
    expect(none.headers.get('set-cookie')).toMatch(/^assistd_session=; .*Max-Age=0/);

    const expired = await opaqueToken('ola', 1);
    await sleep(5);
    const late = await harness.json<ErrorBody>('/console/session', {
      principal: null,
      headers: cookieOf(expired),
    });
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('expired_token');
    expect(late.headers.get('set-cookie')).toBe(
      'assistd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
    );

    const revoked = await opaqueToken('pat', 3_600_000);
    expect((await signIn(revoked)).status).toBe(200);
    const store = await openStore(harness.config);
    await store.tokens.revoke({
      id: revoked.split('_')[1]!,
      revokedAt: Date.now(),
      expiresAt: undefined,
    });
    await store.close();
    // Revoked through another connection, as the CLI does: the server sees it within 10 ms
    // (storage/sqlite/revocations.ts).
    await sleep(25);
    for (const path of ['/console/session', '/v1/conversations']) {
      const gone = await harness.json<ErrorBody>(path, {
        principal: null,
        headers: cookieOf(revoked),
      });
      expect(gone.status, path).toBe(401);
      expect(gone.body.error.code, path).toBe('token_revoked');
      expect(gone.headers.get('set-cookie'), path).toMatch(/Max-Age=0/);
    }
  });

  it('signs out, clearing the cookie, even over the rate limit, locked out or with a stale CSRF token', async () => {
    const cleared = 'assistd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0';
    const token = await opaqueToken('quin', 3_600_000);
    const out = await harness.request('/console/session', {
      principal: null,
      method: 'DELETE',
      headers: { ...cookieOf(token), 'x-csrf-token': 'from-before', 'x-request-id': 'out' },
    });
    expect(out.status).toBe(204);
    expect(await out.text()).toBe('');
    expect(out.headers.get('set-cookie')).toBe(cleared);

    // A principal past its budget, from an address that is locked out: still signed out.
    const app = harness.server.app;
    const spent = await opaqueToken('quinn-busy', 3_600_000);
    const from = { remoteAddress: '10.7.0.9' };
    for (let attempt = 0; attempt < harness.config.limits.failed_auth_max; attempt++) {
      await app.inject({
        ...from,
        url: '/v1/models',
        headers: { authorization: `Bearer asd_000000000000000${attempt % 10}_${'C'.repeat(43)}` },
      });
    }
    const locked = await app.inject({ ...from, url: '/v1/models', headers: cookieOf(spent) });
    expect(locked.statusCode).toBe(429);
    // Until the budget is spent: it refills as the requests run (10 a second by default), so a
    // slow machine needs a few more than the burst.
    let limited = 0;
    for (
      let request = 0;
      limited !== 429 && request <= 2 * harness.config.limits.request_burst;
      request++
    ) {
      limited = (await app.inject({ url: '/v1/models', headers: cookieOf(spent) })).statusCode;
    }
    expect(limited).toBe(429);
    const signedOut = await app.inject({
      ...from,
      method: 'DELETE',
      url: '/console/session',
      headers: cookieOf(spent),
    });
    expect(signedOut.statusCode).toBe(204);
    expect(signedOut.headers['set-cookie']).toBe(cleared);
    // A body that is not JSON (400) still signs out.
    const withBody = await app.inject({
      method: 'DELETE',
      url: '/console/session',
      headers: { ...cookieOf(spent), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(withBody.statusCode).toBe(400);
    expect(withBody.headers['set-cookie']).toBe(cleared);
  });
});

describe('the cookie as an API credential', () => {
  it('reads with GET and writes only with the CSRF token', async () => {
    const token = await opaqueToken('rae', 3_600_000);
    const list = await harness.json<{ data: unknown[] }>('/v1/conversations', {
      principal: null,
      headers: cookieOf(token),
    });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);

    for (const csrf of [undefined, 'wrong', csrfTokenFor(`${token}x`)]) {
      const refused = await harness.json<ErrorBody>('/v1/chat', {
        principal: null,
        body: hello,
        headers: { ...cookieOf(token), ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) },
      });
      expect(refused.status, csrf).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'csrf_failed',
        type: 'permission_error',
        message: "The request did not carry the console's CSRF token.",
      });
    }
    const chat = await harness.json<{ conversation_id: string }>('/v1/chat', {
      principal: null,
      body: hello,
      headers: {
        ...cookieOf(token),
        'x-csrf-token': csrfTokenFor(token),
        'x-request-id': 'cookie-chat',
      },
    });
    expect(chat.status).toBe(200);
    const after = await harness.json<{ data: Array<{ id: string }> }>('/v1/conversations', {
      principal: null,
      headers: cookieOf(token),
    });
    expect(after.body.data.map((conversation) => conversation.id)).toEqual([
      chat.body.conversation_id,
    ]);
  });

  it('is ignored when an Authorization header is present', async () => {
    const cookieToken = await opaqueToken('sam', 3_600_000);
    // A bearer request needs no CSRF token, even with a session cookie beside it…
    const bearer = await harness.json<{ conversation_id: string }>('/v1/chat', {
      principal: 'tess',
      body: hello,
      headers: cookieOf(cookieToken),
    });
    expect(bearer.status).toBe(200);
    // …the conversation is the bearer's, not the cookie's…
    const samList = await harness.json<{ data: unknown[] }>('/v1/conversations', {
      principal: null,
      headers: cookieOf(cookieToken),
    });
    expect(samList.body.data).toEqual([]);
    // …and a bad header is not rescued by a good cookie.
    const bad = await harness.json<ErrorBody>('/v1/models', {
      principal: null,
      headers: { ...cookieOf(cookieToken), authorization: 'Bearer asd_nope' },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_token');
    expect(bad.headers.get('set-cookie')).toBeNull();
  });

  it('still answers to the policies', async () => {
    const token = await opaqueToken('uma', 3_600_000);
    const denied = await harness.json<ErrorBody>('/admin/audit', {
      principal: null,
      headers: cookieOf(token),
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('permission_denied');
  });
});

describe('records', () => {
  it("mark an admin operation done with the cookie, beside the route's own facts", async () => {
    const token = await jwt('ada', '--admin');
    const headers = { ...cookieOf(token), 'x-csrf-token': csrfTokenFor(token) };
    const issued = await harness.json<{ id: string }>('/admin/tokens', {
      principal: null,
      body: { principal: 'bea@example.com', ttl: '1h' },
      headers: { ...headers, 'x-request-id': 'cookie-issue' },
    });
    expect(issued.status).toBe(201);
    const revoked = await harness.json(`/admin/tokens/${issued.body.id}`, {
      principal: null,
      method: 'DELETE',
      headers: { ...headers, 'x-request-id': 'cookie-revoke' },
    });
    expect(revoked.status).toBe(200);
    const records = (await harness.json<{ data: AuditJson[] }>('/admin/audit?limit=1000')).body
      .data;
    expect(records.find((record) => record.request_id === 'cookie-issue')).toMatchObject({
      principal: 'ada',
      action: 'create:token',
      details: {
        credential: 'session-cookie',
        subject: 'bea@example.com',
        token_id: issued.body.id,
      },
    });
    expect(records.find((record) => record.request_id === 'cookie-revoke')).toMatchObject({
      principal: 'ada',
      action: 'delete:token',
      details: {
        credential: 'session-cookie',
        token_id: issued.body.id,
        principal: 'bea@example.com',
      },
    });
  });

  it('audit sign-in, sign-out and cookie calls without any token, and the logs hold none', async () => {
    const response = await harness.json<{ data: AuditJson[] }>('/admin/audit?limit=1000');
    const records = response.body.data;
    const sessions = records.filter((record) => record.action?.endsWith(':console-session'));
    expect(records.find((record) => record.request_id === 'console-sign-in')).toMatchObject({
      principal: 'erin',
      action: 'create:console-session',
      auth: 'opaque',
      status: 200,
      error: null,
      details: { token_id: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown },
    });
    expect(sessions).toContainEqual(
      expect.objectContaining({
        action: 'create:console-session',
        principal: null,
        status: 401,
        error: 'expired_token',
      }),
    );
    expect(records.find((record) => record.request_id === 'out')).toMatchObject({
      principal: 'quin',
      action: 'delete:console-session',
      status: 204,
    });
    expect(records.find((record) => record.request_id === 'cookie-chat')).toMatchObject({
      principal: 'rae',
      action: 'create:chat',
      status: 200,
      details: { credential: 'session-cookie' },
    });
    const everything = JSON.stringify(records);
    const logs = harness.logs();
    for (const token of tokens) {
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(csrfTokenFor(token));
    }
    expect(findLeaks(logs, tokens)).toEqual([]);
    expect(logs).not.toContain('assistd_session=');
  });
});

describe('behind a TLS-terminating proxy', () => {
  it('marks the cookie Secure and __Host-, also when clearing it, and reads no other', async () => {
    const proxied = await Harness.start({ config: { tls: { terminated_by_proxy: true } } });
    try {
      const token = await proxied.token('vic');
      const created = await proxied.request('/console/session', {
        principal: null,
        body: { token },
      });
      expect(created.status).toBe(200);
      expect(created.headers.get('set-cookie')).toMatch(
        /^__Host-assistd_session=\S+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/,
      );
      // The plain name is what a page of another port or subdomain could plant: not read here.
      const planted = await proxied.request('/v1/conversations', {
        principal: null,
        headers: { cookie: `assistd_session=${token}` },
      });
      expect(planted.status).toBe(401);
      // …nor counts toward the address's lockout, however often pages send it.
      for (let index = 0; index < 12; index++) {
        const again = await proxied.request('/console/session', {
          principal: null,
          headers: { cookie: `assistd_session=${token}; x_assistd_session=${token}` },
        });
        expect(again.status).toBe(401);
      }
      expect((await proxied.request('/v1/models', { principal: 'vic' })).status).toBe(200);
      const prefixed = await proxied.request('/v1/conversations', {
        principal: null,
        headers: { cookie: `__Host-assistd_session=${token}` },
      });
      expect(prefixed.status).toBe(200);
      const out = await proxied.request('/console/session', {
        principal: null,
        method: 'DELETE',
        headers: {
          cookie: `__Host-assistd_session=${token}`,
          'x-csrf-token': csrfTokenFor(token),
        },
      });
      expect(out.status).toBe(204);
      expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0; Secure$/);
    } finally {
      await proxied.close();
    }
  });
});
