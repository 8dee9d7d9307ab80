// Fuzzing every endpoint (reliability issue, part 1): seeded, reproducible, fast-check. For each
// route of the route table, generated bodies, headers, query strings and path parameters; the
// property: never a 5xx, never a dropped connection or a hang past the timeout, the OpenAI error
// shape on every 4xx, and stored data unchanged by every rejected request.
//
// CI runs FUZZ_RUNS (default 60) cases per endpoint; `npm run fuzz` runs 10,000. A failure prints
// the seed and path to replay it: FUZZ_SEED=… FUZZ_PATH=… npm run fuzz. The endpoints are split
// over two test files (shards, each its own server and process) so the long run uses two cores.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';
import { contentType, mutatedBody, pathParam, queryString, rawBody, type Json } from './inputs.js';
import { targets, type Target } from './targets.js';

const runs = Number(process.env.FUZZ_RUNS ?? 60);
const seed = Number(process.env.FUZZ_SEED ?? 20261127);
const timeoutMs = 15_000;

/** Fuzzes the endpoints `index % shards === shard` of the route table against a server of its own. */
export function fuzzSuite(shard: number, shards: number): void {
  let harness: Harness;
  let db: Database.Database;
  let conversationId = '';
  const agent = new Agent({ connections: 4, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const statuses = new Map<string, Map<number, number>>();

  beforeAll(async () => {
    harness = await Harness.start({
      config: {
        // Budgets and lockouts that never bite: the fuzzer must reach the validators.
        limits: {
          requests_per_minute: 1_000_000_000,
          request_burst: 1_000_000_000,
          tokens_per_minute: 1_000_000_000,
          token_burst: 1_000_000_000,
          failed_auth_max: 1_000_000_000,
        },
        log_level: 'warn',
      },
    });
    const created = await harness.json<{ conversation_id: string }>('/v1/chat', {
      body: { messages: [{ role: 'user', content: 'the conversation the fuzzer aims at' }] },
    });
    conversationId = created.body.conversation_id;
    // Minted now: minting it inside the first case would change the stored tokens mid-property.
    await harness.token('reader');
    db = new Database(join(harness.dataDir, 'assistd.db'), { readonly: true, fileMustExist: true });
  }, 60_000);

  afterAll(async () => {
    db?.close();
    await agent.close();
    await harness?.close();
    const lines = [...statuses].map(
      ([target, counts]) =>
        `${target.padEnd(40)} ${[...counts]
          .sort(([a], [b]) => a - b)
          .map(([status, count]) => `${status}×${count}`)
          .join(' ')}`,
    );
    console.log(
      `fuzz shard ${shard + 1}/${shards}: ${runs} cases per endpoint, seed ${seed}\n${lines.join('\n')}`,
    );
  });

  /**
   * What a rejected request must leave alone (the audit log grows by design): per table, aggregates
   * that any insert, delete or update of a stored field changes. Cheap enough to run per case.
   */
  const fingerprintSql = `SELECT
    (SELECT json_array(count(*), max(updated_at), total(length(title)), total(message_count))
       FROM conversations) AS conversations,
    (SELECT json_array(count(*), max(rowid), total(length(content)), total(incomplete))
       FROM messages) AS messages,
    (SELECT json_array(count(*), max(rowid)) FROM api_tokens) AS api_tokens,
    (SELECT json_array(count(*), max(rowid)) FROM issued_tokens) AS issued_tokens,
    (SELECT json_array(count(*), max(rowid)) FROM revoked_tokens) AS revoked_tokens,
    (SELECT json_array(count(*), total(coalesce(signs_until, 0)), total(coalesce(retired_at, 0)))
       FROM signing_keys) AS signing_keys,
    (SELECT json_array(count(*)) FROM data_keys) AS data_keys`;
  function fingerprint(): string {
    return JSON.stringify(db.prepare(fingerprintSql).get());
  }

  interface Case {
    path: string;
    query: string;
    headers: Record<string, string>;
    body: Buffer | undefined;
  }

  function caseFor(target: Target): fc.Arbitrary<Case> {
    const param = fc.oneof(
      { weight: 1, arbitrary: fc.constant(conversationId) },
      { weight: 3, arbitrary: pathParam },
    );
    const path = fc
      .array(param, { minLength: 3, maxLength: 3 })
      .map(([a, b, c]) => target.route.replace(':id', a!).replace(':kid', b!).replace('*', c!));
    const valid = target.body ?? {};
    const hasBody =
      target.method === 'POST' || target.method === 'PATCH' || target.method === 'PUT';
    const body: fc.Arbitrary<Buffer | undefined> =
      target.method === 'HEAD'
        ? fc.constant(undefined)
        : hasBody
          ? fc.oneof(
              { weight: 1, arbitrary: fc.constant(Buffer.from(JSON.stringify(valid))) },
              {
                weight: 6,
                arbitrary: mutatedBody(valid).map((json: Json) =>
                  Buffer.from(JSON.stringify(json)),
                ),
              },
              { weight: 3, arbitrary: rawBody(valid) },
              { weight: 1, arbitrary: fc.constant(undefined) },
            )
          : fc.oneof(
              { weight: 8, arbitrary: fc.constant(undefined) },
              { weight: 1, arbitrary: rawBody(valid) },
            );
    const auth = fc.constantFrom(
      'admin',
      'admin',
      'admin',
      'admin',
      'admin',
      'admin',
      'reader',
      'none',
      'garbage',
      'jwt-ish',
    );
    const extra = fc.dictionary(
      fc.constantFrom(
        'x-request-id',
        'accept',
        'accept-encoding',
        'x-csrf-token',
        'cookie',
        'origin',
        'x-forwarded-for',
        'range',
        'if-none-match',
      ),
      fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        maxLength: 200,
      }),
      { maxKeys: 3 },
    );
    return fc
      .record({ path, query: queryString(target.query), body, type: contentType, auth, extra })
      .map(({ path: filled, query, body: bytes, type, auth: who, extra: headers }) => {
        const all: Record<string, string> = { ...headers };
        if (type !== undefined && bytes !== undefined) all['content-type'] = type;
        const token =
          who === 'admin'
            ? harness.adminToken
            : who === 'garbage'
              ? 'not a token at all'
              : who === 'jwt-ish'
                ? 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.'
                : undefined;
        if (token !== undefined) all.authorization = `Bearer ${token}`;
        if (who === 'reader') all.authorization = 'reader';
        return { path: filled, query, headers: all, body: bytes };
      });
  }

  async function send(target: Target, input: Case) {
    const headers = { ...input.headers };
    if (headers.authorization === 'reader')
      headers.authorization = `Bearer ${await harness.token('reader')}`;
    const response = await request(`${harness.url}${input.path}${input.query}`, {
      method: target.method,
      headers,
      body: input.body,
      dispatcher: agent,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  /** A failure in a few lines (a counterexample can be megabytes): how to replay it, and why. */
  function report(details: fc.RunDetails<[Case]>): Promise<void> {
    if (!details.failed) return Promise.resolve();
    const example = details.counterexample?.[0];
    const shown = example && {
      ...example,
      path: example.path.slice(0, 200),
      body: example.body?.subarray(0, 300).toString('utf8'),
      bodyBytes: example.body?.length,
    };
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : '';
    throw new Error(
      `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} after ` +
        `${details.numRuns} cases: ${error.slice(0, 600)}\ncase: ${JSON.stringify(shown).slice(0, 1200)}`,
    );
  }

  describe('fuzzing every endpoint', () => {
    const all = targets();
    const list = all.filter((_, index) => index % shards === shard);

    it('covers every current route of the route table', () => {
      expect(all.length).toBeGreaterThan(30);
      expect(list.length).toBeGreaterThanOrEqual(Math.floor(all.length / shards));
    });

    // One shard fuzzes the paths outside the table (the other would only repeat it).
    function unknownPaths(): void {
      it(
        'unknown paths and methods',
        async () => {
          const segment = fc.oneof(
            pathParam,
            fc.constantFrom('v1', 'admin', 'chat', '..', '.', ''),
          );
          const unknown = fc.record({
            method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
            path: fc
              .array(segment, { minLength: 1, maxLength: 6 })
              .map((parts) => `/${parts.join('/')}`),
            query: queryString(['limit']),
          });
          await fc.assert(
            fc.asyncProperty(unknown, async ({ method, path, query }) => {
              const response = await request(`${harness.url}${path}${query}`, {
                method,
                headers: { authorization: `Bearer ${harness.adminToken}` },
                dispatcher: agent,
              });
              const text = await response.body.text();
              expect(response.statusCode, text.slice(0, 300)).toBeLessThan(500);
              if (response.statusCode >= 400 && method !== 'HEAD') {
                const body = JSON.parse(text) as { error?: Record<string, unknown> };
                expect(typeof body.error?.code).toBe('string');
              }
            }),
            { numRuns: runs, seed, endOnFailure: true },
          );
        },
        Math.max(60_000, runs * 200),
      );
    }

    function fuzzTarget(target: Target): void {
      const name = `${target.method} ${target.route}`;
      it(
        name,
        async () => {
          const counts = new Map<number, number>();
          let stored = fingerprint();
          statuses.set(name, counts);
          await fc.assert(
            fc.asyncProperty(caseFor(target), async (input) => {
              const started = performance.now();
              const response = await send(target, input);
              const elapsed = performance.now() - started;
              counts.set(response.status, (counts.get(response.status) ?? 0) + 1);
              expect(response.status, response.text.slice(0, 300)).toBeLessThan(500);
              expect(elapsed).toBeLessThan(timeoutMs);
              if (response.status < 400) {
                // Only a request that succeeded may have changed what is stored.
                if (target.method !== 'GET' && target.method !== 'HEAD') stored = fingerprint();
              } else {
                expect(fingerprint()).toBe(stored);
                if (target.method !== 'HEAD') {
                  expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
                  const body = JSON.parse(response.text) as { error?: Record<string, unknown> };
                  expect(typeof body.error?.message).toBe('string');
                  expect(typeof body.error?.type).toBe('string');
                  expect(typeof body.error?.code).toBe('string');
                }
              }
            }),
            {
              numRuns: runs,
              seed,
              ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
              endOnFailure: true,
              asyncReporter: report,
            },
          );
          harness.upstream.reset();
          expect((await request(`${harness.url}/health`, { dispatcher: agent })).statusCode).toBe(
            200,
          );
        },
        Math.max(60_000, runs * 200),
      );
    }

    // Registration order is run order: the targets whose cost grows with the audit log first.
    list.filter((target) => target.growsWithLog).forEach(fuzzTarget);
    if (shard === 0) unknownPaths();
    list.filter((target) => !target.growsWithLog).forEach(fuzzTarget);
  });
}
