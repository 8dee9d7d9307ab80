// What a running server loads: Fastify's schema compiler (Ajv), the Redis client and undici's
// fetch, WebSocket and caches stay out unless they are used (this server validates with zod, has
// no redis.url and calls upstreams through undici's pools only: src/net/undici.ts), which keeps
// idle memory down (`npm run bench` reports it).
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness } from '../../test/support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});

const loaded = (name: string) =>
  Object.keys(createRequire(import.meta.url).cache).filter((path) =>
    path.includes(`/node_modules/${name}/`),
  );

it('serves without loading Ajv, ioredis or undici beyond its pools', async () => {
  const chat = await harness.json('/v1/chat', {
    body: { messages: [{ role: 'user', content: 'hi' }] },
  });
  expect(chat.status).toBe(200);
  expect((await harness.request('/v1/no-such-route')).status).toBe(404);
  // Fastify itself was loaded through the same cache, so the check can see CommonJS packages.
  expect(loaded('fastify').length).toBeGreaterThan(0);
  expect(loaded('ajv')).toEqual([]);
  expect(loaded('ioredis')).toEqual([]);
  // The chat above went through an undici pool to the fake upstream.
  expect(loaded('undici').some((path) => path.endsWith('/lib/dispatcher/pool.js'))).toBe(true);
  expect(loaded('undici').filter((path) => /\/lib\/(web|cache|mock)\//.test(path))).toEqual([]);
});
