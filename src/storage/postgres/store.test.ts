import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleEntry } from '../../../test/support/audit.js';
import { openEncryptedStore } from '../../../test/support/encrypted-store.js';
import { dropTestSchemas, testDatabaseUrl, testSchema } from '../../../test/support/postgres.js';
import { chainHash } from '../../security/audit/chain.js';
import { runDataKeyStoreContract } from '../../security/crypto/data-key-store.contract.js';
import { plaintextFields } from '../../security/field-cipher.js';
import { runAuditContract } from '../audit-contract.js';
import { runContract } from '../contract.js';
import { migrations } from '../sqlite/migrations.js';
import type { TurnRecord } from '../types.js';
import { postgresMigrations } from './migrations.js';
import { openPostgresStore } from './store.js';
import { allMessages } from '../../../test/support/stored-messages.js';

afterAll(dropTestSchemas);

const open = (schema = testSchema()) => openPostgresStore({ url: testDatabaseUrl, schema });

runContract('postgres', async () => {
  const store = await open();
  await store.useEncryption(plaintextFields);
  return store;
});

runAuditContract('postgres', open);

runDataKeyStoreContract('postgres', async () => (await open()).dataKeys);

describe('postgres migrations', () => {
  it('are numbered and named like SQLite’s', () => {
    expect(postgresMigrations.map((m) => [m.version, m.name])).toEqual(
      migrations.map((m) => [m.version, m.name]),
    );
  });

  it('run once when several replicas start together, and survive reopening', async () => {
    const schema = testSchema();
    const stores = await Promise.all([open(schema), open(schema), open(schema)]);
    await Promise.all(stores.map((store) => store.close()));
    await (await open(schema)).close();
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
    );
    await client.end();
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version })));
  });

  it('refuses a database written by a newer version', async () => {
    const schema = testSchema();
    await (await open(schema)).close();
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    await client.query(
      `INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`,
    );
    await client.end();
    await expect(open(schema)).rejects.toThrow(/schema is version 999/);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openPostgresStore({ url: testDatabaseUrl, schema: 'x; DROP' })).rejects.toThrow(
      /invalid schema name/,
    );
  });
});

runContract('postgres, encrypted', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'assistd-pg-'));
  return (await openEncryptedStore(dataDir, () => open())).store;
});

describe('postgres encryption at rest', () => {
  const turn = (id: string, text: string): TurnRecord => ({
    conversationId: id,
    principal: 'alice',
    create: { title: `title ${text}` },
    systemPrompt: `prompt ${text}`,
    model: 'm',
    messages: [{ id: `${id}_m1`, role: 'user', content: text, tokens: 2, incomplete: false }],
    at: 1000,
  });

  async function rawText(schema: string): Promise<string> {
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    try {
      const conversations = await client.query(`SELECT * FROM ${schema}.conversations`);
      const messages = await client.query(`SELECT * FROM ${schema}.messages`);
      return JSON.stringify([conversations.rows, messages.rows]);
    } finally {
      await client.end();
    }
  }

  it('stores titles, prompts and messages encrypted, and encrypts plaintext rows on the first encrypting start', async () => {
    const schema = testSchema();
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-pg-'));
    const plain = await open(schema);
    await plain.useEncryption(plaintextFields);
    const early = `early-${randomBytes(8).toString('hex')}`;
    await plain.conversations.appendTurn(turn('conv_early', early));
    await plain.close();
    expect(await rawText(schema)).toContain(early);

    const encrypted = await openEncryptedStore(dataDir, () => open(schema));
    expect(encrypted.migration).toEqual({ messages: 1, conversations: 1 });
    const late = `late-${randomBytes(8).toString('hex')}`;
    await encrypted.store.conversations.appendTurn(turn('conv_late', late));
    const raw = await rawText(schema);
    expect(raw).not.toContain(early);
    expect(raw).not.toContain(late);
    const messages = await allMessages(encrypted.store.conversations, 'alice', 'conv_early');
    expect(messages?.map((message) => message.content)).toEqual([early]);
    expect((await encrypted.store.conversations.getConversation('alice', 'conv_late'))?.title).toBe(
      `title ${late}`,
    );
    await encrypted.store.close();

    // The next start finds nothing to rewrite.
    const again = await openEncryptedStore(dataDir, () => open(schema));
    expect(again.migration).toEqual({ messages: 0, conversations: 0 });
    await again.store.close();
  });
});

describe('postgres with several replicas on one database', () => {
  it('keeps one audit chain when three replicas append at once', async () => {
    const schema = testSchema();
    const replicas = await Promise.all([open(schema), open(schema), open(schema)]);
    await Promise.all(
      replicas.map(async (replica, index) => {
        for (let batch = 0; batch < 20; batch++) {
          const entries = Array.from({ length: 5 }, (_, n) =>
            sampleEntry(batch * 5 + n, { principal: `replica-${index}` }),
          );
          await replica.audit.append(entries, chainHash);
        }
      }),
    );
    const records = await replicas[0].audit.query({ after: 0, limit: 1000 });
    expect(records.map((record) => record.seq)).toEqual(
      Array.from({ length: 300 }, (_, index) => index + 1),
    );
    let prevHash: Buffer = Buffer.alloc(32);
    for (const record of records) {
      expect(record.prevHash).toEqual(prevHash);
      expect(record.hash).toEqual(chainHash(prevHash, record.seq, record));
      prevHash = record.hash;
    }
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it('numbers the messages of one conversation without gaps when replicas write turns at once', async () => {
    const schema = testSchema();
    const replicas = await Promise.all([open(schema), open(schema)]);
    for (const replica of replicas) await replica.useEncryption(plaintextFields);
    await replicas[0].conversations.appendTurn({
      conversationId: 'conv_shared',
      principal: 'alice',
      create: { title: 't' },
      model: 'm',
      messages: [{ id: 'first', role: 'user', content: 'x', tokens: 1, incomplete: false }],
      at: 1,
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        replicas[index % 2]!.conversations.appendTurn({
          conversationId: 'conv_shared',
          principal: 'alice',
          model: 'm',
          messages: [
            { id: `q${index}`, role: 'user', content: 'q', tokens: 1, incomplete: false },
            { id: `a${index}`, role: 'assistant', content: 'a', tokens: 1, incomplete: false },
          ],
          at: 2 + index,
        }),
      ),
    );
    const messages = await allMessages(replicas[1].conversations, 'alice', 'conv_shared');
    expect(messages?.map((message) => message.seq)).toEqual(
      Array.from({ length: 41 }, (_, index) => index + 1),
    );
    // Each turn's two messages are adjacent.
    for (let index = 1; index < 41; index += 2) {
      expect(messages![index]!.id.slice(1)).toBe(messages![index + 1]!.id.slice(1));
    }
    expect(
      (await replicas[0].conversations.getConversation('alice', 'conv_shared'))?.messageCount,
    ).toBe(41);
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it('lets exactly one of two replicas rotate the signing key', async () => {
    const schema = testSchema();
    const replicas = await Promise.all([open(schema), open(schema)]);
    const key = (kid: string) => ({
      kid,
      publicKeyPem: 'pem',
      privateKeySealed: 'sealed',
      source: 'generated' as const,
      createdAt: 10,
      signsUntil: 1000,
      verifiesUntil: 2000,
      retiredAt: undefined,
    });
    await replicas[0].signingKeys.insert(key('k0'));
    const outcomes = await Promise.all(
      replicas.map((replica, index) =>
        replica.signingKeys.rotate('k0', key(`k${index + 1}`), 100, 3000),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await replicas[0].signingKeys.list()).map((row) => row.kid)).toHaveLength(2);
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it('refuses updates, deletes and truncation of audit records', async () => {
    const schema = testSchema();
    const store = await open(schema);
    await store.audit.append([sampleEntry(1)], chainHash);
    const head = (await store.audit.head())!;
    const checkpoint = { seq: 1, headHash: head.hash, at: 1, prevSignature: undefined };
    await store.audit.insertCheckpoint(
      { ...checkpoint, kid: 'k', signature: Buffer.alloc(256) },
      undefined,
    );
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    try {
      for (const statement of [
        `UPDATE ${schema}.audit_records SET principal = 'x'`,
        `DELETE FROM ${schema}.audit_records`,
        `TRUNCATE ${schema}.audit_records`,
        `DELETE FROM ${schema}.audit_checkpoints`,
      ]) {
        await expect(client.query(statement), statement).rejects.toThrow(/append-only/);
      }
    } finally {
      await client.end();
    }
    expect((await store.audit.head())?.seq).toBe(1);
    await store.close();
  });
});
