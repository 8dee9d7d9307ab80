import type pg from 'pg';
import { fieldContext } from '../fields.js';
import type { FieldCipher, FieldMigration } from '../types.js';
import { transaction } from './pool.js';

/** `meta` key recording that no plaintext row is left (the same key SQLite uses). */
const markerKey = 'fields_encrypted';
/** Rows read per batch, so a large table is not loaded into memory at once. */
const batchSize = 500;

/**
 * Encrypts every row that still holds plaintext (written by a `plaintextFields` store), in one
 * transaction, and records that none is left so later starts cost one query. The `meta` row is
 * locked first, so replicas starting together do not rewrite the same rows twice.
 *
 * Unlike SQLite's, this does not rebuild the table: PostgreSQL keeps the old row versions until
 * VACUUM reclaims them, and even then their bytes stay in the files until overwritten. Run
 * `VACUUM FULL conversations, messages` after the first encrypting start on a database that held
 * plaintext, if that matters to you (it takes an exclusive lock while it copies the tables).
 */
export function encryptLegacyFields(pool: pg.Pool, cipher: FieldCipher): Promise<FieldMigration> {
  return transaction(pool, async (client) => {
    await client.query(
      `INSERT INTO meta (key, value) VALUES ($1, 'scanning') ON CONFLICT (key) DO NOTHING`,
      [markerKey],
    );
    const { rows } = await client.query<{ value: string }>(
      'SELECT value FROM meta WHERE key = $1 FOR UPDATE',
      [markerKey],
    );
    if (rows[0]?.value === 'done') return { messages: 0, conversations: 0 };
    const counts = {
      messages: await encryptMessages(client, cipher),
      conversations: await encryptConversations(client, cipher),
    };
    await client.query(`UPDATE meta SET value = 'done' WHERE key = $1`, [markerKey]);
    return counts;
  });
}

/** Makes the next encrypting start scan again: a plaintext store may write plaintext rows. */
export async function forgetFieldsEncrypted(pool: pg.Pool): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('DELETE FROM meta WHERE key = $1', [markerKey]);
  });
}

async function encryptMessages(client: pg.PoolClient, cipher: FieldCipher): Promise<number> {
  let rewritten = 0;
  await forEachBatch<{ id: string; content: string }>(
    client,
    'SELECT id, content FROM messages WHERE id > $1 ORDER BY id LIMIT $2',
    async (row) => {
      if (cipher.isEncrypted(row.content)) return;
      const sealed = cipher.encrypt(row.content, fieldContext.messageContent(row.id));
      await client.query('UPDATE messages SET content = $1 WHERE id = $2', [sealed, row.id]);
      rewritten += 1;
    },
  );
  return rewritten;
}

async function encryptConversations(client: pg.PoolClient, cipher: FieldCipher): Promise<number> {
  let rewritten = 0;
  await forEachBatch<{ id: string; title: string; system_prompt: string | null }>(
    client,
    'SELECT id, title, system_prompt FROM conversations WHERE id > $1 ORDER BY id LIMIT $2',
    async (row) => {
      const prompt = row.system_prompt;
      const titleClear = !cipher.isEncrypted(row.title);
      const promptClear = prompt !== null && !cipher.isEncrypted(prompt);
      if (!titleClear && !promptClear) return;
      await client.query('UPDATE conversations SET title = $1, system_prompt = $2 WHERE id = $3', [
        titleClear ? cipher.encrypt(row.title, fieldContext.title(row.id)) : row.title,
        promptClear ? cipher.encrypt(prompt, fieldContext.systemPrompt(row.id)) : prompt,
        row.id,
      ]);
      rewritten += 1;
    },
  );
  return rewritten;
}

/** Calls `visit` for every row, `batchSize` at a time in id order. */
async function forEachBatch<Row extends { id: string }>(
  client: pg.PoolClient,
  select: string,
  visit: (row: Row) => Promise<void>,
): Promise<void> {
  let after = '';
  for (;;) {
    const { rows } = await client.query<Row>(select, [after, batchSize]);
    for (const row of rows) await visit(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < batchSize) return;
    after = last.id;
  }
}
