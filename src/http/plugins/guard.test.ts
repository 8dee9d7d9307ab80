import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../config/schema.js';
import { Harness } from '../../../test/support/harness.js';

const hello = { messages: [{ role: 'user', content: 'hello' }] };
let harness: Harness | undefined;

async function start(limits: Partial<ConfigInput['limits']>) {
  harness = await Harness.start({ config: { limits } });
  return harness;
}

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('rate limits, lockout, headers and CORS', () => {
  it('limits requests per principal with 429 rate_limited and Retry-After; others are unaffected', async () => {
    const server = await start({ requests_per_minute: 60, request_burst: 2 });
    const statuses = [];
    for (let index = 0; index < 3; index++) {
      statuses.push((await server.json('/v1/models', { principal: 'alice' })).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await server.json<{ error: { code: string } }>('/v1/models', {
      principal: 'alice',
    });
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await server.json('/v1/models', { principal: 'bob' })).status).toBe(200);
  });

  it("charges a principal's answers to a token budget and refuses model requests once it is spent", async () => {
    const server = await start({ tokens_per_minute: 10, token_burst: 10 });
    const first = await server.json<{ usage: { total_tokens: number } }>('/v1/chat', {
      body: hello,
      principal: 'carol',
    });
    expect(first.status).toBe(200);
    expect(first.body.usage.total_tokens).toBeGreaterThan(10);
    const second = await server.json<{ error: { code: string } }>('/v1/chat', {
      body: hello,
      principal: 'carol',
    });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('rate_limited');
    expect((await server.json('/v1/chat', { body: hello, principal: 'dave' })).status).toBe(200);
    // The rest of the API stays usable: the token budget guards the model, not the account.
    expect((await server.json('/v1/conversations', { principal: 'carol' })).status).toBe(200);
    const completions = await server.json('/v1/chat/completions', {
      body: { model: 'gpt-4o-mini', ...hello },
      principal: 'carol',
    });
    expect(completions.status).toBe(429);
  });

  it('charges an answer the client left before its end, streamed or not, on both routes', async () => {
    const server = await start({ tokens_per_minute: 1, token_burst: 5 });
    const leaveEarly = async (path: string, body: object, principal: string, stream: boolean) => {
      server.upstream.enqueue(
        stream
          ? { kind: 'sse', fixture: 'stream.sse', gapMs: 300 }
          : { kind: 'json', fixture: 'completion.json', delayMs: 2000 },
      );
      const leave = new AbortController();
      const response = server.request(path, {
        body: { ...body, stream },
        principal,
        signal: leave.signal,
      });
      if (stream) {
        const reader = (await response).body!.getReader();
        await reader.read(); // the first event: the answer has begun
        await reader.read();
        leave.abort();
        await reader.cancel().catch(() => undefined);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 300));
        leave.abort();
        await response.catch(() => undefined);
      }
      // The charge lands once the server has seen the client go.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const next = await server.json<{ error: { code: string } }>(path, {
        body,
        principal,
      });
      expect(next.status, `${path} stream=${stream}`).toBe(429);
      expect(next.body.error.code).toBe('rate_limited');
    };
    const completion = { model: 'gpt-4o-mini', ...hello };
    await leaveEarly('/v1/chat', hello, 'erin', true);
    await leaveEarly('/v1/chat', hello, 'frank', false);
    await leaveEarly('/v1/chat/completions', completion, 'gina', true);
    await leaveEarly('/v1/chat/completions', completion, 'hugo', false);
  });

  it('locks out an address after repeated failed authentication, even for a good token', async () => {
    const server = await start({ failed_auth_max: 3, lockout_seconds: 60 });
    for (let index = 0; index < 3; index++) {
      const bad = await server.json('/v1/models', {
        principal: null,
        headers: {
          authorization: 'Bearer asd_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        },
      });
      expect(bad.status).toBe(401);
    }
    const locked = await server.json<{ error: { code: string } }>('/v1/models');
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('auth_locked_out');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(50);
    // Health and readiness stay reachable for probes.
    expect((await server.request('/health', { principal: null })).status).toBe(200);
  });

  it('counts only failures that presented a credential (header, sign-in token or cookie)', async () => {
    const server = await start({ failed_auth_max: 3, lockout_seconds: 60 });
    // Nothing to guess with: browsers and probes send these, and must not lock users out.
    for (let index = 0; index < 5; index++) {
      expect((await server.request('/v1/models', { principal: null })).status).toBe(401);
    }
    expect((await server.request('/v1/models')).status).toBe(200);
    for (let index = 0; index < 3; index++) {
      const bad = await server.request('/v1/models', {
        principal: null,
        headers: { cookie: `assistd_session=asd_0000000000000000_${'C'.repeat(43)}` },
      });
      expect(bad.status).toBe(401);
    }
    expect((await server.request('/v1/models')).status).toBe(429);
  });

  it('sets security headers on every response and no CORS headers unless configured', async () => {
    const server = await start({});
    for (const path of ['/health', '/v1/models', '/nope']) {
      const response = await server.request(path, { headers: { origin: 'https://evil.example' } });
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('answers CORS for configured origins only, preflight included', async () => {
    const server = await start({ cors_origins: ['https://console.example.com'] });
    const preflight = await server.request('/v1/chat', {
      method: 'OPTIONS',
      principal: null,
      headers: {
        origin: 'https://console.example.com',
        'access-control-request-method': 'POST',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(
      'https://console.example.com',
    );
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-csrf-token');
    const other = await server.request('/v1/models', {
      headers: { origin: 'https://other.example.com' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
