import Database from 'better-sqlite3';
import type { DataKeyStore } from '../../security/crypto/index.js';
import type { MessageContent, Role } from '../../providers/types.js';
import type {
  ContextRecord,
  ConversationCursor,
  ConversationPage,
  ConversationRecord,
  ConversationStore,
  MessageRecord,
  SigningKeyStore,
  Store,
  TokenStore,
  TurnRecord,
} from '../types.js';
import { migrations } from './migrations.js';
import { settle } from './settle.js';
import { SqliteDataKeys, SqliteSigningKeys, SqliteTokens } from './security-stores.js';

export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a throwaway store. */
  path: string;
  /** How long to wait for another process's write lock, in milliseconds. */
  busyTimeoutMs?: number;
  /** See `storage.sqlite_synchronous` in the config schema; `normal` by default. */
  synchronous?: 'normal' | 'full';
}

interface ConversationRow {
  id: string;
  principal: string;
  title: string;
  model: string;
  system_prompt: string | null;
  created_at: number;
  updated_at: number;
  message_count: number;
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
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  migrate(db);
  return new SqliteStore(db);
}

/** Applies pending migrations; refuses a database written by a newer version. */
function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const latest = migrations.at(-1)?.version ?? 0;
  // IMMEDIATE takes the write lock first, so two processes never apply the same migration.
  db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database schema is version ${current}, newer than this assistd knows (${latest}); upgrade assistd`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
  }).immediate();
}

class SqliteStore implements Store {
  readonly conversations: ConversationStore;
  readonly tokens: TokenStore;
  readonly signingKeys: SigningKeyStore;
  readonly dataKeys: DataKeyStore;
  private readonly ping: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.conversations = new SqliteConversations(db);
    this.tokens = new SqliteTokens(db);
    this.signingKeys = new SqliteSigningKeys(db);
    this.dataKeys = new SqliteDataKeys(db);
    this.ping = db.prepare('SELECT 1');
  }

  check(): Promise<void> {
    return settle(() => {
      this.ping.get();
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

class SqliteConversations implements ConversationStore {
  private readonly statements;
  // Built once: better-sqlite3 transaction wrappers are not free to create. Reads that take
  // several statements run in a transaction so they see one snapshot.
  private readonly writeTurn: Database.Transaction<(turn: TurnRecord) => boolean>;
  private readonly readMessages: Database.Transaction<
    (principal: string, id: string) => MessageRecord[] | undefined
  >;
  private readonly readContext: Database.Transaction<
    (principal: string, id: string, maxTokens: number) => ContextRecord | undefined
  >;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      get: db.prepare<[string, string], ConversationRow>(
        'SELECT * FROM conversations WHERE id = ? AND principal = ?',
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
      messages: db.prepare<[string], MessageRow>(
        'SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq',
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
    this.writeTurn = db.transaction((turn: TurnRecord) => this.writeTurnBody(turn));
    this.readMessages = db.transaction((principal: string, id: string) =>
      this.readMessagesBody(principal, id),
    );
    this.readContext = db.transaction((principal: string, id: string, maxTokens: number) =>
      this.readContextBody(principal, id, maxTokens),
    );
  }

  appendTurn(turn: TurnRecord): Promise<boolean> {
    return settle(() => this.writeTurn.immediate(turn));
  }

  private writeTurnBody(turn: TurnRecord): boolean {
    const { statements } = this;
    const base = {
      id: turn.conversationId,
      principal: turn.principal,
      model: turn.model,
      systemPrompt: turn.systemPrompt ?? null,
      at: turn.at,
      count: turn.messages.length,
    };
    let seq = 0;
    if (turn.create) {
      // A new conversation is written once, already with its final counts.
      statements.insert.run({ ...base, title: turn.create.title });
    } else {
      const existing = statements.get.get(turn.conversationId, turn.principal);
      if (!existing) return false;
      statements.touch.run(base);
      seq = existing.message_count;
    }
    for (const message of turn.messages) {
      seq += 1;
      statements.insertMessage.run({
        id: message.id,
        conversationId: turn.conversationId,
        seq,
        role: message.role,
        content: JSON.stringify(message.content),
        tokens: message.tokens,
        incomplete: message.incomplete ? 1 : 0,
        at: turn.at,
      });
    }
    return true;
  }

  getConversation(principal: string, id: string): Promise<ConversationRecord | undefined> {
    return settle(() => {
      const row = this.statements.get.get(id, principal);
      return row && toConversation(row);
    });
  }

  listMessages(principal: string, id: string): Promise<MessageRecord[] | undefined> {
    return settle(() => this.readMessages(principal, id));
  }

  private readMessagesBody(principal: string, id: string): MessageRecord[] | undefined {
    if (!this.statements.get.get(id, principal)) return undefined;
    return this.statements.messages.all(id).map(toMessage);
  }

  loadContext(
    principal: string,
    id: string,
    maxTokens: number,
  ): Promise<ContextRecord | undefined> {
    return settle(() => this.readContext(principal, id, maxTokens));
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
      newestFirst.push(toMessage(message));
    }
    const messages = newestFirst.reverse();
    const olderCount = messages[0] ? messages[0].seq - 1 : row.message_count;
    return { conversation: toConversation(row), messages, olderCount };
  }

  listConversations(
    principal: string,
    page: { limit: number; after?: ConversationCursor | undefined },
  ): Promise<ConversationPage> {
    return settle(() => {
      const limit = page.limit + 1;
      const { after } = page;
      const rows = after
        ? this.statements.nextPage.all(principal, after.updatedAt, after.updatedAt, after.id, limit)
        : this.statements.firstPage.all(principal, limit);
      return {
        items: rows.slice(0, page.limit).map(toConversation),
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
      if (this.statements.rename.run(title, at, id, principal).changes === 0) return undefined;
      const row = this.statements.get.get(id, principal);
      return row && toConversation(row);
    });
  }

  deleteConversation(principal: string, id: string): Promise<boolean> {
    return settle(() => this.statements.delete.run(id, principal).changes > 0);
  }
}

function toConversation(row: ConversationRow): ConversationRecord {
  return {
    id: row.id,
    principal: row.principal,
    title: row.title,
    model: row.model,
    systemPrompt: row.system_prompt ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
  };
}

function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    role: row.role,
    content: JSON.parse(row.content) as MessageContent,
    tokens: row.tokens,
    incomplete: row.incomplete === 1,
    createdAt: row.created_at,
  };
}
