import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { DataKeyStore } from '../../security/crypto/index.js';
import type { MessageContent, Role } from '../../providers/types.js';
import {
  conversationFromRow,
  FieldCipherMissingError,
  fieldContext,
  readDecrypting,
  readField,
  type ConversationRow,
} from '../fields.js';
import type {
  ContextRecord,
  ConversationCursor,
  ConversationPage,
  ConversationRecord,
  ConversationStore,
  FieldCipher,
  FieldMigration,
  MessagePage,
  MessagePageQuery,
  MessageRecord,
  SigningKeyStore,
  Store,
  TokenStore,
  TurnRecord,
} from '../types.js';
import { encryptLegacyFields, forgetFieldsEncrypted } from './legacy-fields.js';
import { settle } from './settle.js';
import { SqliteDataKeys, SqliteSigningKeys, SqliteTokens } from './security-stores.js';
import { SqliteAudit } from './audit-store.js';
import { AuditWriter } from './audit-writer.js';
import { openDatabase } from './open-database.js';

export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a throwaway store. */
  path: string;
  /** How long to wait for another process's write lock, in milliseconds. */
  busyTimeoutMs?: number;
  /** See `storage.sqlite_synchronous` in the config schema; `normal` by default. */
  synchronous?: 'normal' | 'full';
  /**
   * Write audit batches from a worker thread while records arrive at least `minRate` a second
   * with the event loop at least `minUtilization` busy (audit-writer.ts; `audit.writer_thread_*`);
   * absent: always in-thread (the CLI). Ignored for `:memory:`, which another connection cannot
   * open.
   */
  auditWriter?: { minRate: number; minUtilization: number } | undefined;
  /** Logs the writer thread's start and failures. */
  logger?: Logger | undefined;
}

/** A turn with its text already in stored form (encrypted), ready for the write transaction. */
interface StoredTurn {
  turn: TurnRecord;
  title: string | undefined;
  systemPrompt: string | null;
  contents: string[];
}

interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  role: Role;
  content: string;
  tokens: number;
  incomplete: number;
  created_at: number;
}

/** Opens (creating if needed) a SQLite store and brings its schema up to date. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const synchronous = options.synchronous ?? 'normal';
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const db = openDatabase(options.path, synchronous, busyTimeoutMs);
  const writer =
    options.auditWriter === undefined || db.memory
      ? undefined
      : new AuditWriter({
          path: db.name,
          synchronous,
          busyTimeoutMs,
          ...options.auditWriter,
          logger: options.logger,
        });
  return new SqliteStore(db, writer);
}

class SqliteStore implements Store {
  readonly conversations: SqliteConversations;
  readonly tokens: TokenStore;
  readonly signingKeys: SigningKeyStore;
  readonly dataKeys: DataKeyStore;
  readonly audit: SqliteAudit;
  private readonly ping: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: AuditWriter | undefined,
  ) {
    this.conversations = new SqliteConversations(db);
    this.tokens = new SqliteTokens(db);
    this.signingKeys = new SqliteSigningKeys(db);
    this.dataKeys = new SqliteDataKeys(db);
    this.audit = new SqliteAudit(db, writer);
    this.ping = db.prepare('SELECT 1');
  }

  useEncryption(cipher: FieldCipher): Promise<FieldMigration> {
    return settle(() => {
      if (this.conversations.cipher) throw new Error('useEncryption() was already called');
      let migration: FieldMigration = { messages: 0, conversations: 0 };
      if (cipher.encrypts) migration = encryptLegacyFields(this.db, cipher);
      else forgetFieldsEncrypted(this.db);
      this.conversations.cipher = cipher;
      return migration;
    });
  }

  check(): Promise<void> {
    return settle(() => {
      this.ping.get();
    });
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.db.open) this.db.close();
  }
}

class SqliteConversations implements ConversationStore {
  /** Set once by `Store.useEncryption`; conversation access is refused until then. */
  cipher: FieldCipher | undefined;
  private readonly statements;
  // Built once: better-sqlite3 transaction wrappers are not free to create. Reads that take
  // several statements run in a transaction so they see one snapshot.
  private readonly writeTurn: Database.Transaction<(stored: StoredTurn) => boolean>;
  private readonly readMessages: Database.Transaction<
    (principal: string, id: string, page: MessagePageQuery) => MessagePage | undefined
  >;
  private readonly readContext: Database.Transaction<
    (principal: string, id: string, maxTokens: number) => ContextRecord | undefined
  >;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      get: db.prepare<[string, string], ConversationRow>(
        'SELECT * FROM conversations WHERE id = ? AND principal = ?',
      ),
      count: db.prepare<[string, string], { message_count: number }>(
        'SELECT message_count FROM conversations WHERE id = ? AND principal = ?',
      ),
      insert: db.prepare(
        `INSERT INTO conversations (id, principal, title, model, system_prompt, created_at, updated_at, message_count)
         VALUES (@id, @principal, @title, @model, @systemPrompt, @at, @at, @count)`,
      ),
      touch: db.prepare(
        `UPDATE conversations SET updated_at = @at, model = @model,
           system_prompt = COALESCE(@systemPrompt, system_prompt),
           message_count = message_count + @count
         WHERE id = @id AND principal = @principal`,
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (id, conversation_id, seq, role, content, tokens, incomplete, created_at)
         VALUES (@id, @conversationId, @seq, @role, @content, @tokens, @incomplete, @at)`,
      ),
      messagePage: db.prepare<[string, number, number], MessageRow>(
        'SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      newestMessages: db.prepare<[string], MessageRow>(
        'SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC',
      ),
      firstPage: db.prepare<[string, number], ConversationRow>(
        `SELECT * FROM conversations WHERE principal = ?
         ORDER BY updated_at DESC, id DESC LIMIT ?`,
      ),
      nextPage: db.prepare<[string, number, number, string, number], ConversationRow>(
        `SELECT * FROM conversations WHERE principal = ?
           AND (updated_at < ? OR (updated_at = ? AND id < ?))
         ORDER BY updated_at DESC, id DESC LIMIT ?`,
      ),
      rename: db.prepare(
        'UPDATE conversations SET title = ?, updated_at = ? WHERE id = ? AND principal = ?',
      ),
      delete: db.prepare('DELETE FROM conversations WHERE id = ? AND principal = ?'),
    };
    this.writeTurn = db.transaction((stored: StoredTurn) => this.writeTurnBody(stored));
    this.readMessages = db.transaction((principal: string, id: string, page: MessagePageQuery) =>
      this.readMessagesBody(principal, id, page),
    );
    this.readContext = db.transaction((principal: string, id: string, maxTokens: number) =>
      this.readContextBody(principal, id, maxTokens),
    );
  }

  private get fields(): FieldCipher {
    if (!this.cipher) throw new FieldCipherMissingError();
    return this.cipher;
  }

  /** A read that decrypts (see `readDecrypting`); refused before `useEncryption`. */
  private read<T>(work: () => T): Promise<T> {
    const { cipher } = this;
    if (!cipher) return Promise.reject(new FieldCipherMissingError());
    return readDecrypting(cipher, work);
  }

  appendTurn(turn: TurnRecord): Promise<boolean> {
    // Encrypted before the transaction, so the write lock is not held while encrypting.
    return settle(() => this.writeTurn.immediate(this.seal(turn)));
  }

  private seal(turn: TurnRecord): StoredTurn {
    const { fields } = this;
    const id = turn.conversationId;
    return {
      turn,
      title: turn.create && fields.encrypt(turn.create.title, fieldContext.title(id)),
      systemPrompt:
        turn.systemPrompt === undefined
          ? null
          : fields.encrypt(turn.systemPrompt, fieldContext.systemPrompt(id)),
      contents: turn.messages.map((message) =>
        fields.encrypt(JSON.stringify(message.content), fieldContext.messageContent(message.id)),
      ),
    };
  }

  private writeTurnBody({ turn, title, systemPrompt, contents }: StoredTurn): boolean {
    const { statements } = this;
    const base = {
      id: turn.conversationId,
      principal: turn.principal,
      model: turn.model,
      systemPrompt,
      at: turn.at,
      count: turn.messages.length,
    };
    let seq = 0;
    if (title !== undefined) {
      // A new conversation is written once, already with its final counts.
      statements.insert.run({ ...base, title });
    } else {
      const existing = statements.get.get(turn.conversationId, turn.principal);
      if (!existing) return false;
      statements.touch.run(base);
      seq = existing.message_count;
    }
    for (const [index, message] of turn.messages.entries()) {
      seq += 1;
      statements.insertMessage.run({
        id: message.id,
        conversationId: turn.conversationId,
        seq,
        role: message.role,
        content: contents[index],
        tokens: message.tokens,
        incomplete: message.incomplete ? 1 : 0,
        at: turn.at,
      });
    }
    return true;
  }

  getConversation(principal: string, id: string): Promise<ConversationRecord | undefined> {
    return this.read(() => {
      const row = this.statements.get.get(id, principal);
      return row && this.toConversation(row);
    });
  }

  messageCount(principal: string, id: string): Promise<number | undefined> {
    return settle(() => this.statements.count.get(id, principal)?.message_count);
  }

  messagePage(
    principal: string,
    id: string,
    page: MessagePageQuery,
  ): Promise<MessagePage | undefined> {
    return this.read(() => this.readMessages(principal, id, page));
  }

  private readMessagesBody(
    principal: string,
    id: string,
    page: MessagePageQuery,
  ): MessagePage | undefined {
    if (!this.statements.get.get(id, principal)) return undefined;
    // One more than asked: whether it exists says whether older messages remain.
    const rows = this.statements.messagePage.all(
      id,
      page.beforeSeq ?? Number.MAX_SAFE_INTEGER,
      page.limit + 1,
    );
    const hasMore = rows.length > page.limit;
    const messages = rows.slice(0, page.limit).reverse();
    return { messages: messages.map((row) => this.toMessage(row)), hasMore };
  }

  loadContext(
    principal: string,
    id: string,
    maxTokens: number,
  ): Promise<ContextRecord | undefined> {
    return this.read(() => this.readContext(principal, id, maxTokens));
  }

  private readContextBody(
    principal: string,
    id: string,
    maxTokens: number,
  ): ContextRecord | undefined {
    const row = this.statements.get.get(id, principal);
    if (!row) return undefined;
    const newestFirst: MessageRecord[] = [];
    let tokens = 0;
    for (const message of this.statements.newestMessages.iterate(id)) {
      if (tokens + message.tokens > maxTokens) break;
      tokens += message.tokens;
      newestFirst.push(this.toMessage(message));
    }
    const messages = newestFirst.reverse();
    const olderCount = messages[0] ? messages[0].seq - 1 : row.message_count;
    return { conversation: this.toConversation(row), messages, olderCount };
  }

  listConversations(
    principal: string,
    page: { limit: number; after?: ConversationCursor | undefined },
  ): Promise<ConversationPage> {
    return this.read(() => {
      const limit = page.limit + 1;
      const { after } = page;
      const rows = after
        ? this.statements.nextPage.all(principal, after.updatedAt, after.updatedAt, after.id, limit)
        : this.statements.firstPage.all(principal, limit);
      return {
        items: rows.slice(0, page.limit).map((row) => this.toConversation(row)),
        hasMore: rows.length > page.limit,
      };
    });
  }

  renameConversation(
    principal: string,
    id: string,
    title: string,
    at: number,
  ): Promise<ConversationRecord | undefined> {
    return settle(() => {
      const sealed = this.fields.encrypt(title, fieldContext.title(id));
      return this.statements.rename.run(sealed, at, id, principal).changes > 0;
    }).then((renamed) => (renamed ? this.getConversation(principal, id) : undefined));
  }

  deleteConversation(principal: string, id: string): Promise<boolean> {
    // Works before `useEncryption` too: deleting writes no text.
    return settle(() => this.statements.delete.run(id, principal).changes > 0);
  }

  private toConversation(row: ConversationRow): ConversationRecord {
    return conversationFromRow(this.fields, row);
  }

  private toMessage(row: MessageRow): MessageRecord {
    const content = readField(this.fields, row.content, fieldContext.messageContent(row.id));
    return {
      id: row.id,
      conversationId: row.conversation_id,
      seq: row.seq,
      role: row.role,
      // Authenticated by the decryption (or written by this service before it encrypted).
      content: JSON.parse(content) as MessageContent,
      tokens: row.tokens,
      incomplete: row.incomplete === 1,
      createdAt: row.created_at,
    };
  }
}
