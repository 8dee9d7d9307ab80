// The quarterly failover drill as an automated test (docs/runbooks/failover-drill.md): three
// replicas on distinct ports sharing PostgreSQL (a private cluster, so it can be restarted),
// Redis and an S3-compatible bucket (s3rver), conversation logs shipped to the bucket; a client
// spreads chat load over them and retries on connection errors. During the load one replica is
// SIGKILLed, another SIGTERMed (it drains), then PostgreSQL restarts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCrypto } from '../../src/security/crypto/index.js';
import { fieldCipher } from '../../src/security/field-cipher.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import { runCliCaptured } from '../support/cli.js';
import { silentLogger } from '../support/encrypted-store.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { startServerProcess, type Child } from '../support/process.js';
import { testPrefix, testRedisUrl } from '../support/redis.js';
import { S3Server } from '../support/s3.js';
import { allMessages } from '../support/stored-messages.js';

interface Replica {
  child: Child;
  url: string;
  pool: Pool;
  dataDir: string;
  up: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('failover drill', () => {
  let upstream: FakeUpstream;
  let database: PrivatePostgres;
  let s3: S3Server;
  const root = mkdtempSync(join(tmpdir(), 'assistd-drill-'));
  const configFile = join(root, 'drill.yaml');
  beforeAll(async () => {
    [upstream, database, s3] = await Promise.all([
      FakeUpstream.start(),
      PrivatePostgres.create(),
      S3Server.start(),
    ]);
    const masterKey = join(root, 'master.key');
    writeFileSync(masterKey, `v1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    writeFileSync(join(root, 's3-secret'), S3Server.credentials.secretAccessKey);
    writeFileSync(
      configFile,
      [
        `database: { url: "${database.url}", connect_timeout_ms: 1000 }`,
        `redis: { url: "${testRedisUrl}", key_prefix: "${testPrefix()}" }`,
        `security: { master_key_file: "${masterKey}" }`,
        `object_store: { s3: { bucket: ${s3.bucket}, prefix: drill, endpoint: "${s3.endpoint}",`,
        `  access_key_id: ${S3Server.credentials.accessKeyId}, secret_access_key_file: "${join(root, 's3-secret')}" } }`,
        'log_shipping: { enabled: true, max_delay_seconds: 1 }',
        'limits: { requests_per_minute: 1000000, request_burst: 1000000, tokens_per_minute: 100000000, token_burst: 100000000 }',
        'shutdown_grace_seconds: 5',
        '',
      ].join('\n'),
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all([upstream.close(), database.destroy(), s3.stop()]);
  });

  async function startReplica(index: number): Promise<Replica> {
    const dataDir = join(root, `replica-${index}`);
    const { child, url } = await startServerProcess([
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--model-endpoint',
      upstream.url,
      '--upstream-model',
      'gpt-4o-mini',
    ]);
    return { child, url, pool: new Pool(url, { connections: 8 }), dataDir, up: true };
  }

  it('loses no acknowledged message, and service returns by itself', async () => {
    const replicas = [await startReplica(0), await startReplica(1), await startReplica(2)];
    const issued = await runCliCaptured(
      [
        'tokens',
        'issue',
        '--principal',
        'drill@example.com',
        '--config',
        configFile,
        '--data-dir',
        replicas[0]!.dataDir,
      ],
      { cwd: root },
    );
    expect(issued.code, issued.stderr).toBe(0);
    const headers = {
      authorization: `Bearer ${issued.stdout.trim()}`,
      'content-type': 'application/json',
    };

    const stats = { attempted: 0, succeeded: 0, failed: 0 };
    const acknowledged: Array<{ conversation: string; text: string; at: number }> = [];
    let lastFailure = 0;
    let stop = false;
    let next = 0;
    const client = async (worker: number) => {
      for (let n = 0; !stop; n++) {
        const text = `worker ${worker} turn ${n}`;
        stats.attempted += 1;
        let done = false;
        // Spread over the replicas; on a connection error or a 5xx, the next one.
        for (let attempt = 0; attempt < 3 && !done; attempt++) {
          const replica = replicas[next++ % replicas.length]!;
          if (!replica.up) continue;
          try {
            const response = await replica.pool.request({
              path: '/v1/chat',
              method: 'POST',
              headers,
              body: JSON.stringify({ messages: [{ role: 'user', content: text }] }),
            });
            const body = (await response.body.json()) as { conversation_id?: string };
            if (response.statusCode === 200) {
              acknowledged.push({ conversation: body.conversation_id!, text, at: Date.now() });
              done = true;
            }
          } catch {
            // connection refused or reset: try the next replica
          }
        }
        if (done) stats.succeeded += 1;
        else {
          stats.failed += 1;
          lastFailure = Date.now();
          await sleep(50);
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, worker) => client(worker));

    await sleep(2_000);
    const killedAt = Date.now();
    replicas[0]!.up = false;
    replicas[0]!.child.kill('SIGKILL');
    await sleep(2_000);
    replicas[1]!.up = false;
    replicas[1]!.child.kill('SIGTERM');
    const drained = await replicas[1]!.child.exited;
    await sleep(1_000);
    await database.stop('fast');
    await sleep(2_000);
    await database.start();
    const restarted = Date.now();
    // Full service: a chat answered again after PostgreSQL came back.
    const before = stats.succeeded;
    while (stats.succeeded === before && Date.now() - restarted < 20_000) await sleep(20);
    const recoverySeconds = (Date.now() - restarted) / 1000;
    await sleep(1_000);
    stop = true;
    await Promise.all(workers);

    // Every acknowledged message is in the database (read through the surviving replica).
    const survivor = replicas[2]!;
    expect(
      survivor.child.process.exitCode,
      survivor.child.stdout
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l))
        .slice(-3)
        .join('\n'),
    ).toBeNull();
    const lost: string[] = [];
    for (const turn of acknowledged) {
      const response = await survivor.pool.request({
        path: `/v1/conversations/${turn.conversation}`,
        method: 'GET',
        headers,
      });
      const body = (await response.body.json()) as { messages?: Array<{ content: string }> };
      if (!body.messages?.some((message) => message.content === turn.text)) lost.push(turn.text);
    }
    // The recovery point: what a restore from the bucket alone would lose of the killed replica.
    survivor.child.kill('SIGTERM');
    await survivor.child.exited;
    const restoredDir = join(root, 'restored');
    const restored = await runCliCaptured(
      [
        'restore',
        'conversations',
        '--to',
        restoredDir,
        '--config',
        configFile,
        '--data-dir',
        survivor.dataDir,
      ],
      { cwd: root },
    );
    expect(restored.code, restored.stderr).toBe(0);
    const replayed = Number(/replayed (\d+) changes/.exec(restored.stderr)?.[1] ?? 0);
    // Acknowledged turns the restore lacks: the recovery point is how long before the kill the
    // oldest of them was acknowledged (they sat in the killed replica's unshipped segment).
    const store = openSqliteStore({ path: join(restoredDir, 'assistd.db') });
    const crypto = await openCrypto({
      masterKeyFile: join(root, 'master.key'),
      dataDir: restoredDir,
      store: store.dataKeys,
      logger: silentLogger,
    });
    await store.useEncryption(fieldCipher(crypto));
    const notRestored: number[] = [];
    for (const turn of acknowledged) {
      const messages = await allMessages(
        store.conversations,
        'drill@example.com',
        turn.conversation,
      );
      if (!messages?.some((message) => message.content === turn.text)) notRestored.push(turn.at);
    }
    await crypto.close();
    await store.close();
    const recoveryPointSeconds =
      notRestored.length === 0 ? 0 : Math.max(0, killedAt - Math.min(...notRestored)) / 1000;
    for (const replica of replicas) await replica.pool.destroy();

    console.log(
      [
        'failover drill:',
        `  requests attempted ${stats.attempted}, succeeded ${stats.succeeded}, failed ${stats.failed}`,
        `  acknowledged messages lost: ${lost.length}`,
        `  SIGTERMed replica drained and exited with code ${drained.code}`,
        `  seconds until service returned after PostgreSQL restarted: ${recoverySeconds.toFixed(1)}`,
        `  restore from the bucket replayed ${replayed} changes for ${acknowledged.length} acknowledged turns`,
        `  last failure ${lastFailure === 0 ? 'none' : `${((lastFailure - restarted) / 1000).toFixed(1)} s after the restart`}`,
        `  not in the bucket: ${notRestored.length} turns; recovery point ${recoveryPointSeconds.toFixed(2)} s (max_delay_seconds 1)`,
      ].join('\n'),
    );
    expect(lost).toEqual([]);
    expect(stats.succeeded).toBeGreaterThan(50);
    expect(drained.code).toBe(0);
    expect(recoverySeconds).toBeLessThan(20);
    expect(recoveryPointSeconds).toBeLessThanOrEqual(5);
  }, 180_000);
});
