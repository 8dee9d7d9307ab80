import { idleMetricSources } from '../support/metric-sources.js';
import { appendFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShippedLog, replayLog } from '../../src/backup/log-restore.js';
import { LogShipper } from '../../src/backup/log-shipper.js';
import type { ObjectStore } from '../../src/backup/object-store/types.js';
import { openRepositoryCrypto } from '../../src/backup/open-repository.js';
import { configSchema } from '../../src/config/schema.js';
import { PrometheusMetrics } from '../../src/monitor/metrics.js';
import { openCrypto } from '../../src/security/crypto/index.js';
import { fieldCipher } from '../../src/security/field-cipher.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import { runCliCaptured } from '../support/cli.js';
import { silentLogger } from '../support/encrypted-store.js';
import { eventually } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';
import { dropTestSchemas, testDatabaseUrl, testSchema } from '../support/postgres.js';
import { allMessages } from '../support/stored-messages.js';

interface ChatBody {
  conversation_id: string;
}
const say = (text: string, conversation?: string) => ({
  messages: [{ role: 'user', content: text }],
  ...(conversation ? { conversation_id: conversation } : {}),
});

/** Shipped segment objects under the harness's default object folder. */
function shippedSegments(dataDir: string): string[] {
  const root = join(dataDir, 'objects', 'conversation-log');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((replica) => readdirSync(join(root, replica)));
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

afterAll(dropTestSchemas);

describe('conversation-log shipping', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      config: { log_shipping: { enabled: true, max_delay_seconds: 0.5 } },
    });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('ships every stored change within the delay, and restore rebuilds the store from it alone', async () => {
    const principal = 'shipper@example.com';
    const first = await harness.json<ChatBody>('/v1/chat', { principal, body: say('first') });
    const kept = first.body.conversation_id;
    await harness.json('/v1/chat', { principal, body: say('second', kept) });
    const gone = (await harness.json<ChatBody>('/v1/chat', { principal, body: say('doomed') })).body
      .conversation_id;
    await harness.request(`/v1/conversations/${kept}`, {
      principal,
      method: 'PATCH',
      body: { title: 'renamed' },
    });
    const acknowledged = Date.now();
    await harness.request(`/v1/conversations/${gone}`, { principal, method: 'DELETE' });
    const before = shippedSegments(harness.dataDir).length;
    // The recovery point: the last change reaches object storage within max_delay_seconds.
    const lag = await until(() => shippedSegments(harness.dataDir).length > before, 5_000);
    console.log(`last change shipped ${Date.now() - acknowledged} ms after it was acknowledged`);
    expect(lag).toBeLessThan(2_000);

    const target = mkdtempSync(join(tmpdir(), 'assistd-restored-'));
    const restored = await runCliCaptured(
      ['restore', 'conversations', '--to', target, '--data-dir', harness.dataDir],
      { cwd: harness.dataDir },
    );
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/replayed 5 changes/);

    const store = openSqliteStore({ path: join(target, 'assistd.db') });
    const crypto = await openCrypto({
      masterKeyFile: join(harness.dataDir, 'master.key'),
      dataDir: target,
      store: store.dataKeys,
      logger: silentLogger,
    });
    await store.useEncryption(fieldCipher(crypto));
    const original = await harness.json<{ title: string; messages: { content: string }[] }>(
      `/v1/conversations/${kept}`,
      { principal },
    );
    const messages = await allMessages(store.conversations, principal, kept);
    expect(messages?.map((message) => message.content)).toEqual(
      original.body.messages.map((message) => message.content),
    );
    expect((await store.conversations.getConversation(principal, kept))?.title).toBe('renamed');
    expect(await store.conversations.getConversation(principal, gone)).toBeUndefined();
    await crypto.close();
    await store.close();

    // --until before the deletion keeps the deleted conversation.
    const earlier = mkdtempSync(join(tmpdir(), 'assistd-restored-'));
    const partial = await runCliCaptured(
      [
        'restore',
        'conversations',
        '--to',
        earlier,
        '--until',
        new Date(acknowledged - 1).toISOString(),
        '--data-dir',
        harness.dataDir,
      ],
      { cwd: harness.dataDir },
    );
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toMatch(/1 later changes left out/);
    // Into PostgreSQL: the same conversations, in a schema of their own.
    const schema = testSchema('restore');
    const intoPostgres = await runCliCaptured(
      [
        'restore',
        'conversations',
        '--to',
        mkdtempSync(join(tmpdir(), 'assistd-restored-')),
        '--to-database-url',
        testDatabaseUrl,
        '--to-schema',
        schema,
        '--data-dir',
        harness.dataDir,
      ],
      { cwd: harness.dataDir },
    );
    expect(intoPostgres.code, intoPostgres.stderr).toBe(0);
    expect(intoPostgres.stderr).toMatch(
      /replayed 5 changes .* into PostgreSQL .*schema assistd_restore_/,
    );
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    const { rows } = await client.query<{ count: string }>(
      `SELECT count(*) FROM ${schema}.messages WHERE conversation_id = $1`,
      [kept],
    );
    await client.end();
    expect(Number(rows[0]!.count)).toBe(original.body.messages.length);
    // Refuses a data dir that already holds a store.
    const again = await runCliCaptured(
      ['restore', 'conversations', '--to', target, '--data-dir', harness.dataDir],
      { cwd: harness.dataDir },
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists: restore into a new data dir/);
  }, 30_000);
});

describe('the log shipper under load', () => {
  it('keeps every record readable while segments seal between appends', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-seal-race-'));
    const config = configSchema.parse({ data_dir: dataDir });
    const { objects, crypto } = await openRepositoryCrypto(config, silentLogger);
    const shipper = await LogShipper.open({
      folder: join(dataDir, 'conversation-log'),
      objects,
      crypto,
      logger: pino({ level: 'silent' }),
      maxDelayMs: 1,
    });
    const appends: Array<Promise<void>> = [];
    for (let index = 0; index < 300; index++) {
      appends.push(shipper.append({ type: 'delete', at: index, principal: 'p', id: `c${index}` }));
      if (index % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(appends);
    await shipper.close();
    const deleted: string[] = [];
    const result = await replayLog(await readShippedLog(objects, crypto), {
      deleteConversation: (_principal: string, id: string) => {
        deleted.push(id);
        return Promise.resolve(true);
      },
    } as never);
    expect(result.segments).toBeGreaterThan(3);
    expect(deleted).toHaveLength(300);
    await crypto.close();
  });
});

describe('the log shipper after a crash', () => {
  it('cuts a torn tail off the open segment and ships the complete records', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-torn-'));
    const config = configSchema.parse({ data_dir: dataDir });
    const logger = pino({ level: 'silent' });
    const { objects, crypto } = await openRepositoryCrypto(config, silentLogger);
    const folder = join(dataDir, 'conversation-log');
    const first = await LogShipper.open({ folder, objects, crypto, logger, maxDelayMs: 60_000 });
    for (let index = 0; index < 3; index++) {
      await first.append({ type: 'delete', at: index, principal: 'p', id: `c${index}` });
    }
    // The process dies: no seal, no upload; then half a frame lands at the end of the file.
    appendFileSync(join(folder, 'open.seg'), Buffer.from([0, 0, 1, 0, 42, 42]));
    const second = await LogShipper.open({ folder, objects, crypto, logger, maxDelayMs: 60_000 });
    const keys: string[] = [];
    for await (const info of objects.list('conversation-log/')) keys.push(info.key);
    expect(keys).toHaveLength(1);
    const deleted: string[] = [];
    const result = await replayLog(await readShippedLog(objects, crypto), {
      deleteConversation: (_principal: string, id: string) => {
        deleted.push(id);
        return Promise.resolve(true);
      },
    } as never);
    expect(result).toMatchObject({ segments: 1, records: 3 });
    expect(deleted).toEqual(['c0', 'c1', 'c2']);
    await second.close();
    await first.close().catch(() => undefined);
    await crypto.close();
  });
});

describe('the log shipper through an object store outage', () => {
  it('ships what waited once the store is back, its lag counted from the first record', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-outage-'));
    const config = configSchema.parse({ data_dir: dataDir });
    const { objects, crypto } = await openRepositoryCrypto(config, silentLogger);
    let down = true;
    // The real store, with its puts refused while `down` (an unreachable bucket).
    const flaky: ObjectStore = {
      location: objects.location,
      put: (key, data) =>
        down ? Promise.reject(new Error('connect ECONNREFUSED')) : objects.put(key, data),
      get: (key) => objects.get(key),
      head: (key) => objects.head(key),
      list: (prefix) => objects.list(prefix),
      delete: (key) => objects.delete(key),
    };
    const shipper = await LogShipper.open({
      folder: join(dataDir, 'conversation-log'),
      objects: flaky,
      crypto,
      logger: pino({ level: 'silent' }),
      maxDelayMs: 1,
    });
    const metrics = new PrometheusMetrics(idleMetricSources({ logShipping: () => shipper }));
    const scraped = async (name: string) => {
      const line = (await metrics.scrape()).body.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1]);
    };
    expect(shipper.oldestUnshippedAt).toBeUndefined();
    expect(await scraped('assistd_log_shipping_backlog_seconds')).toBe(0);
    const appendedAt = Date.now();
    await shipper.append({ type: 'delete', at: 1, principal: 'p', id: 'c1' });
    await eventually(() => shipper.failures > 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The backlog is visible while the store is down: its age, from the first record waiting.
    expect(shipper.oldestUnshippedAt).toBeGreaterThanOrEqual(appendedAt);
    expect(await scraped('assistd_log_shipping_backlog_seconds')).toBeGreaterThanOrEqual(1);
    expect(await scraped('assistd_log_shipping_failures_total')).toBeGreaterThan(0);
    down = false;
    // Retried every 2 s.
    await eventually(() => shipper.shipped === 1, 5_000);
    expect(shipper.lastLagMs).toBeGreaterThanOrEqual(1_000);
    expect(shipper.oldestUnshippedAt).toBeUndefined();
    expect(await scraped('assistd_log_shipping_backlog_seconds')).toBe(0);
    expect(await scraped('assistd_log_shipping_segments_total')).toBe(1);
    await shipper.close();
    await crypto.close();
  });
});
