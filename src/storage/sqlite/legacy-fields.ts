import type Database from 'better-sqlite3';
import { fieldContext } from '../fields.js';
import type { FieldCipher, FieldMigration } from '../types.js';

/**
 * `meta` key recording that no plaintext row is left: `vacuum` once the rows are encrypted,
 * `done` once the file has also been rewritten. Its absence makes the next encrypting start scan.
 */
const markerKey = 'fields_encrypted';
/** Rows read per batch, so a large database is not loaded into memory at once. */
const batchSize = 500;

interface MessageRow {
  rowid: number;
  id: string;
  content: string;
}

interface ConversationRow {
  rowid: number;
  id: string;
  title: string;
  system_prompt: string | null;
}

/**
 * Encrypts every row that still holds plaintext (data written before encryption at rest, or by a
 * `plaintextFields` store), in one transaction, so none is left after the first encrypting start.
 *
 * Done at once rather than lazily on read: a lazy rewrite leaves every conversation nobody opens
 * in clear for good, and reads would turn into writes. The scan runs only when the `meta` marker
 * is missing (first start, or after a plaintext store was used), so later starts cost one query.
 *
 * An UPDATE leaves the old plaintext in the page's free space and in free pages, and deleted
 * conversations may sit in free pages too; so unless the database is fresh the file is rebuilt
 * (VACUUM, once: it takes about as long as copying the file) and the WAL is truncated. VACUUM's
 * temporary copy holds only live rows, already encrypted. Blocks the file system freed are out
 * of reach here (as are backups taken before).
 */
export function encryptLegacyFields(db: Database.Database, cipher: FieldCipher): FieldMigration {
  const marker = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const setMarker = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  // IMMEDIATE: two processes starting together do not both rewrite the same rows.
  const scan = db
    .transaction(() => {
      const previous = marker.get(markerKey)?.value;
      if (previous === 'done') return undefined;
      const counts: FieldMigration = {
        messages: encryptMessages(db, cipher),
        conversations: encryptConversations(db, cipher),
      };
      setMarker.run(markerKey, 'vacuum');
      // A fresh database has nothing to rebuild; anything else may hold plaintext in free space
      // (a `vacuum` marker is a start that stopped before rebuilding).
      const fresh =
        previous === undefined &&
        db.pragma('freelist_count', { simple: true }) === 0 &&
        db.prepare('SELECT 1 FROM conversations LIMIT 1').get() === undefined;
      return { counts, fresh };
    })
    .immediate();
  if (scan === undefined) return { messages: 0, conversations: 0 };
  if (!scan.fresh) db.exec('VACUUM');
  setMarker.run(markerKey, 'done');
  // Busy (another process reads an old snapshot) leaves the WAL for SQLite to reuse and delete
  // when the last connection closes; the frames it holds are overwritten as it is reused.
  db.pragma('wal_checkpoint(TRUNCATE)');
  return scan.counts;
}

/** Makes the next encrypting start scan again: a plaintext store may write plaintext rows. */
export function forgetFieldsEncrypted(db: Database.Database): void {
  db.prepare('DELETE FROM meta WHERE key = ?').run(markerKey);
}

function encryptMessages(db: Database.Database, cipher: FieldCipher): number {
  const select = db.prepare<[number, number], MessageRow>(
    'SELECT rowid, id, content FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?',
  );
  const update = db.prepare<[string, number]>('UPDATE messages SET content = ? WHERE rowid = ?');
  let rewritten = 0;
  forEachBatch(select, (row) => {
    if (cipher.isEncrypted(row.content)) return;
    update.run(cipher.encrypt(row.content, fieldContext.messageContent(row.id)), row.rowid);
    rewritten += 1;
  });
  return rewritten;
}

function encryptConversations(db: Database.Database, cipher: FieldCipher): number {
  const select = db.prepare<[number, number], ConversationRow>(
    'SELECT rowid, id, title, system_prompt FROM conversations WHERE rowid > ? ORDER BY rowid LIMIT ?',
  );
  const update = db.prepare<[string, string | null, number]>(
    'UPDATE conversations SET title = ?, system_prompt = ? WHERE rowid = ?',
  );
  let rewritten = 0;
  forEachBatch(select, (row) => {
    const prompt = row.system_prompt;
    const titleClear = !cipher.isEncrypted(row.title);
    const promptClear = prompt !== null && !cipher.isEncrypted(prompt);
    if (!titleClear && !promptClear) return;
    update.run(
      titleClear ? cipher.encrypt(row.title, fieldContext.title(row.id)) : row.title,
      promptClear ? cipher.encrypt(prompt, fieldContext.systemPrompt(row.id)) : prompt,
      row.rowid,
    );
    rewritten += 1;
  });
  return rewritten;
}

/**
 * Calls `visit` for every row, `batchSize` at a time by rowid. Each batch is read in full before
 * its rows are updated: better-sqlite3 allows no other statement while an iterator is open.
 */
function forEachBatch<Row extends { rowid: number }>(
  select: Database.Statement<[number, number], Row>,
  visit: (row: Row) => void,
): void {
  let after = 0;
  for (;;) {
    const rows = select.all(after, batchSize);
    rows.forEach(visit);
    const last = rows.at(-1);
    if (last === undefined || rows.length < batchSize) return;
    after = last.rowid;
  }
}
