// Scale-out benchmark (issue: scale-out and disaster recovery). One command: `npm run bench:scale`.
//
// POST /v1/chat (each request a new conversation, stored) against a fast local fake upstream:
//   (s)  one assistd on its embedded defaults: SQLite and the in-process cache
//   (p)  one assistd on PostgreSQL + Redis (127.0.0.1:5432 database `test`, 127.0.0.1:6379)
//   (p3) three assistd replicas sharing that PostgreSQL and Redis, the load split across them
// Rounds alternate the order; medians over rounds. Prints requests/s, P50/P99 and the ratios
// p/s and p3/p. On a 2-core machine three replicas compete with each other, PostgreSQL, Redis
// and the load generator for the same cores: p3/p says what scale-out costs or gains here, not on
// a cluster.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startAssistd, startHelper, stopAll } from './support.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const databaseUrl =
  process.env.ASSISTD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.ASSISTD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const body = JSON.stringify({ messages: [{ role: 'user', content: '你好' }], temperature: 0.7 });

async function load(targets: Array<{ url: string; token: string }>): Promise<Result> {
  const per = Math.max(1, Math.floor(connections / targets.length));
  const results = await Promise.all(
    targets.map((target) =>
      autocannon({
        url: `${target.url}/v1/chat`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
        body,
        connections: per,
        duration: seconds,
      }),
    ),
  );
  return {
    rps: results.reduce((sum, r) => sum + r.requests.average, 0),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const schema = `assistd_bench_${randomBytes(4).toString('hex')}`;
try {
  const upstream = await startHelper('upstream.ts');
  const keyDir = mkdtempSync(join(tmpdir(), 'assistd-bench-key-'));
  const masterKey = join(keyDir, 'master.key');
  writeFileSync(masterKey, `v1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const shared =
    `database:\n  url: ${databaseUrl}\n  schema: ${schema}\n` +
    `redis:\n  url: ${redisUrl}\n  key_prefix: "${schema}:"\n` +
    `security:\n  master_key_file: ${masterKey}\n`;
  const sqlite = await startAssistd(upstream.url, { logLevel: 'warn' });
  const single = await startAssistd(upstream.url, { logLevel: 'warn', extraConfig: shared });
  const replicas = [single];
  for (let index = 0; index < 2; index++) {
    replicas.push(await startAssistd(upstream.url, { logLevel: 'warn', extraConfig: shared }));
  }
  const scenarios = {
    s: [sqlite],
    p: [single],
    p3: replicas,
  } as const;
  const results: Record<keyof typeof scenarios, Result[]> = { s: [], p: [], p3: [] };
  // Warm-up: JIT and connection pools.
  for (const targets of Object.values(scenarios)) await load([...targets]);
  for (let round = 0; round < rounds; round++) {
    const order = (Object.keys(scenarios) as Array<keyof typeof scenarios>).slice();
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      const result = await load([...scenarios[name]]);
      results[name].push(result);
      console.log(
        `round ${round} ${name.padEnd(3)} ${result.rps.toFixed(0).padStart(6)} req/s  P50 ${result.p50} ms  P99 ${result.p99} ms  errors ${result.errors}`,
      );
    }
  }
  const rps = (name: keyof typeof scenarios) => median(results[name].map((r) => r.rps));
  console.log('');
  console.log(`(s)  SQLite + in-process cache      ${rps('s').toFixed(0)} req/s`);
  console.log(`(p)  PostgreSQL + Redis, 1 replica  ${rps('p').toFixed(0)} req/s`);
  console.log(`(p3) PostgreSQL + Redis, 3 replicas ${rps('p3').toFixed(0)} req/s`);
  console.log(
    `p/s  ${(rps('p') / rps('s')).toFixed(2)}   (PostgreSQL + Redis against the embedded defaults)`,
  );
  console.log(
    `p3/p ${(rps('p3') / rps('p')).toFixed(2)}   (3 replicas against 1, on this machine's cores)`,
  );
} finally {
  stopAll();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
