import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findInFiles,
  openEncryptedStore,
  type EncryptedStore,
} from '../../../test/support/encrypted-store.js';
import { AppError } from '../../errors.js';
import { generatedKeyFileName } from '../../security/crypto/index.js';
import { plaintextFields } from '../../security/field-cipher.js';
import { FieldCipherMissingError, UnreadableFieldError } from '../fields.js';
import type { Store, TurnRecord } from '../types.js';
import { openSqliteStore } from './store.js';
import { allMessages } from '../../../test/support/stored-messages.js';

/** A string that occurs nowhere else, so finding it in a file can only mean a leak. */
const unique = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

interface Secrets {
  title: string;
  prompt: string;
  question: string;
  answer: string;
}

const secrets = (): Secrets => ({
  title: unique('title'),
  prompt: unique('prompt'),
  question: unique('question'),
  answer: unique('answer'),
});

const turn = (id: string, s: Secrets): TurnRecord => ({
  conversationId: id,
  principal: 'alice',
  create: { title: s.title },
  systemPrompt: s.prompt,
  model: 'model-a',
  messages: [
    { id: `${id}_m1`, role: 'user', content: s.question, tokens: 3, incomplete: false },
    {
      id: `${id}_m2`,
      role: 'assistant',
      content: [{ type: 'text', text: s.answer }],
      tokens: 3,
      incomplete: false,
    },
  ],
  at: 1000,
});

/** What `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const all = (s: Secrets) => [s.title, s.prompt, s.question, s.answer];

async function expectReadable(store: Store, id: string, s: Secrets): Promise<void> {
  expect(await store.conversations.getConversation('alice', id)).toMatchObject({
    title: s.title,
    systemPrompt: s.prompt,
  });
  const messages = await allMessages(store.conversations, 'alice', id);
  expect(messages?.map((m) => m.content)).toEqual([s.question, [{ type: 'text', text: s.answer }]]);
}

describe('conversation text encrypted at rest (sqlite)', () => {
  let dataDir: string;
  let path: string;
  const open: Store[] = [];

  const encrypted = async (): Promise<EncryptedStore> => {
    const opened = await openEncryptedStore(dataDir);
    open.push(opened.store);
    return opened;
  };
  /** The stored columns, read around the store. */
  const raw = () => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        messages: db.prepare('SELECT content FROM messages').pluck().all() as string[],
        conversations: db.prepare('SELECT title, system_prompt FROM conversations').all() as Array<{
          title: string;
          system_prompt: string | null;
        }>,
      };
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'assistd-at-rest-'));
    path = join(dataDir, 'assistd.db');
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no plaintext in any file of the data dir, open or closed', async () => {
    const { store } = await encrypted();
    const first = secrets();
    const renamed = unique('renamed');
    await store.conversations.appendTurn(turn('conv_1', first));
    await store.conversations.renameConversation('alice', 'conv_1', renamed, 2000);
    await expectReadable(store, 'conv_1', { ...first, title: renamed });

    // The WAL and its index hold the latest pages while the store is open.
    expect(findInFiles(dataDir, [...all(first), renamed])).toEqual([]);
    const stored = raw();
    expect(stored.messages).toHaveLength(2);
    for (const value of [...stored.messages, ...stored.conversations.flatMap(Object.values)]) {
      expect(value).toMatch(/^aenc:rl0B/);
    }
    await store.close();
    expect(findInFiles(dataDir, [...all(first), renamed])).toEqual([]);
  });

  it('refuses ciphertext copied into another row or column, naming the row', async () => {
    const { store } = await encrypted();
    const a = secrets();
    const b = secrets();
    await store.conversations.appendTurn(turn('conv_a', a));
    await store.conversations.appendTurn(turn('conv_b', b));
    const db = new Database(path);
    db.prepare(
      `UPDATE messages SET content = (SELECT content FROM messages WHERE id = 'conv_a_m1')
       WHERE id = 'conv_a_m2'`,
    ).run();
    db.prepare(
      `UPDATE conversations SET title = (SELECT title FROM conversations WHERE id = 'conv_a')
       WHERE id = 'conv_b'`,
    ).run();
    db.close();

    const copied = await rejection(allMessages(store.conversations, 'alice', 'conv_a'));
    expect(copied).toBeInstanceOf(UnreadableFieldError);
    expect(copied.message).toMatch(/^cannot decrypt messages\.content:conv_a_m2: .*authentication/);
    await expect(store.conversations.loadContext('alice', 'conv_a', 100)).rejects.toThrow(
      UnreadableFieldError,
    );
    await expect(store.conversations.getConversation('alice', 'conv_b')).rejects.toThrow(
      /cannot decrypt conversations\.title:conv_b/,
    );
    await expect(store.conversations.listConversations('alice', { limit: 10 })).rejects.toThrow(
      UnreadableFieldError,
    );
    // The rows that were not touched still read.
    expect((await store.conversations.getConversation('alice', 'conv_a'))?.title).toBe(a.title);

    // Internal (500 `internal_error` in HTTP), and nothing secret in what it says.
    expect(copied).not.toBeInstanceOf(AppError);
    expect(copied).not.toHaveProperty('statusCode');
    const keyFile = readFileSync(join(dataDir, generatedKeyFileName), 'utf8');
    const keyMaterial = [...keyFile.matchAll(/v\d+:(\S+)/g)].map((match) => match[1]!);
    expect(keyMaterial.length).toBeGreaterThan(0);
    const said = `${copied.message} ${String(copied.stack)}`;
    for (const secret of [...all(a), ...all(b), ...keyMaterial]) {
      expect(said).not.toContain(secret);
    }
  });

  it('reads a legacy plaintext database, then encrypts it on the first encrypting start', async () => {
    const legacy = openSqliteStore({ path });
    await legacy.useEncryption(plaintextFields);
    const kept = secrets();
    const deleted = secrets();
    const noPrompt = { ...secrets(), prompt: '' };
    await legacy.conversations.appendTurn(turn('conv_old', kept));
    await legacy.conversations.appendTurn({
      ...turn('conv_np', noPrompt),
      systemPrompt: undefined,
    });
    // Long enough for overflow pages, which a delete puts on the free list as they are.
    const long = { ...deleted, question: `${deleted.question} ${'x'.repeat(20_000)}` };
    await legacy.conversations.appendTurn(turn('conv_gone', long));
    await legacy.conversations.deleteConversation('alice', 'conv_gone');
    await legacy.close();
    // The check below can find plaintext: here it must.
    expect(findInFiles(dataDir, all(kept)).length).toBeGreaterThanOrEqual(4);

    const { store, migration } = await encrypted();
    expect(migration).toEqual({ messages: 4, conversations: 2 });
    await expectReadable(store, 'conv_old', kept);
    expect(await store.conversations.getConversation('alice', 'conv_np')).toMatchObject({
      title: noPrompt.title,
      systemPrompt: undefined,
    });
    const stored = raw();
    expect(stored.conversations.map((row) => row.system_prompt?.slice(0, 9) ?? null)).toEqual([
      'aenc:rl0B',
      null,
    ]);
    for (const value of [...stored.messages, ...stored.conversations.map((row) => row.title)]) {
      expect(value).toMatch(/^aenc:rl0B/);
    }
    // Old copies in free space and the deleted conversation are gone too (the file was rebuilt).
    expect(findInFiles(dataDir, [...all(kept), ...all(deleted), noPrompt.title])).toEqual([]);
    await store.close();
    expect(findInFiles(dataDir, [...all(kept), ...all(deleted), noPrompt.title])).toEqual([]);

    // Later starts find nothing left to do.
    expect((await encrypted()).migration).toEqual({ messages: 0, conversations: 0 });
  });

  it('returns a plaintext value as is, and encrypts it at the next start', async () => {
    const { store } = await encrypted();
    const s = secrets();
    await store.conversations.appendTurn(turn('conv_1', s));
    // Written by a plaintext store (a tool, a test) while the server runs.
    const tool = openSqliteStore({ path });
    await tool.useEncryption(plaintextFields);
    const late = secrets();
    await tool.conversations.appendTurn(turn('conv_late', late));
    await tool.close();
    await expectReadable(store, 'conv_late', late);
    await store.close();

    const restarted = await encrypted();
    expect(restarted.migration).toEqual({ messages: 2, conversations: 1 });
    await expectReadable(restarted.store, 'conv_1', s);
    await expectReadable(restarted.store, 'conv_late', late);
    await restarted.store.close();
    expect(findInFiles(dataDir, [...all(s), ...all(late)])).toEqual([]);
  });

  it('reads values whose data key another process made after this one opened', async () => {
    const reader = await encrypted();
    const writer = await encrypted();
    const s = secrets();
    await writer.store.conversations.appendTurn(turn('conv_w', s));
    expect(writer.crypto.status().activeDataKey).not.toBe(reader.crypto.status().activeDataKey);
    await expectReadable(reader.store, 'conv_w', s);
  });

  it('refuses conversations until the storage mode is chosen, and a second choice', async () => {
    const store = openSqliteStore({ path });
    open.push(store);
    await expect(store.conversations.appendTurn(turn('conv_1', secrets()))).rejects.toThrow(
      FieldCipherMissingError,
    );
    await expect(store.conversations.getConversation('alice', 'conv_1')).rejects.toThrow(
      /until Store\.useEncryption\(\) is called/,
    );
    await expect(store.conversations.listConversations('alice', { limit: 1 })).rejects.toThrow(
      FieldCipherMissingError,
    );
    await store.useEncryption(plaintextFields);
    await expect(store.useEncryption(plaintextFields)).rejects.toThrow(/already called/);
  });

  it('fails clearly when a plaintext store meets encrypted rows', async () => {
    const { store } = await encrypted();
    const s = secrets();
    await store.conversations.appendTurn(turn('conv_1', s));
    const plain = openSqliteStore({ path });
    open.push(plain);
    await plain.useEncryption(plaintextFields);
    const failure = await rejection(plain.conversations.getConversation('alice', 'conv_1'));
    expect(failure).toBeInstanceOf(UnreadableFieldError);
    expect(failure.message).toBe(
      'cannot decrypt conversations.title:conv_1: conversations.title:conv_1 is encrypted, ' +
        'and this store was opened without encryption',
    );
  });
});
