import type pg from 'pg';
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
  MessagePage,
  MessagePageQuery,
  MessageRecord,
  TurnRecord,
} from '../types.js';
import { query } from './pool.js';

/** A conversation row joined with one of its messages (all `m_` columns null when it has none). */
interface JoinedRow extends ConversationRow {
  m_id: string | null;
  m_seq: number;
  m_role: Role;
  m_content: string;
  m_tokens: number;
  m_incomplete: boolean;
  m_created_at: number;
}

const messageColumns = `m.id AS m_id, m.seq AS m_seq, m.role AS m_role, m.content AS m_content,
  m.tokens AS m_tokens, m.incomplete AS m_incomplete, m.created_at AS m_created_at`;

/**
 * The conversation and its messages in one statement, so one snapshot: no row when the
 * conversation is missing (or another principal's), one row with null message columns when it
 * has no message.
 */
const messagesSql = `
  WITH c AS (SELECT * FROM conversations WHERE id = $1 AND principal = $2)
  SELECT c.*, ${messageColumns}
  FROM c LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq < $3::bigint
  ORDER BY m.seq DESC
  LIMIT $4::bigint`;

/** As above, only the newest messages whose tokens fit: a running sum from the newest. */
const contextSql = `
  WITH c AS (SELECT * FROM conversations WHERE id = $1 AND principal = $2),
  m AS (
    SELECT *, SUM(tokens) OVER (ORDER BY seq DESC) AS running
    FROM messages WHERE conversation_id = $1 AND EXISTS (SELECT 1 FROM c))
  SELECT c.*, ${messageColumns}
  FROM c LEFT JOIN m ON m.running <= $3
  ORDER BY m.seq`;

/**
 * One turn in one statement (atomic on its own, one round trip): the conversation is created or
 * updated, and the messages are numbered from its previous count. Updating the row locks it, so
 * two turns on one conversation at once get consecutive numbers.
 */
const messagesInsert = `
  INSERT INTO messages (id, conversation_id, seq, role, content, tokens, incomplete, created_at)
  SELECT v.id, $1, c.base + v.ord, v.role, v.content, v.tokens, v.incomplete, $3
  FROM c, unnest($7::text[], $8::text[], $9::text[], $10::int[], $11::boolean[])
    WITH ORDINALITY AS v(id, role, content, tokens, incomplete, ord)`;

const createTurnSql = `
  WITH c AS (
    INSERT INTO conversations (id, principal, title, model, system_prompt, created_at,
      updated_at, message_count)
    VALUES ($1, $2, $12, $4, $5, $3, $3, $6)
    RETURNING 0 AS base)
  ${messagesInsert}`;

const continueTurnSql = `
  WITH c AS (
    UPDATE conversations SET updated_at = $3, model = $4,
      system_prompt = COALESCE($5, system_prompt), message_count = message_count + $6
    WHERE id = $1 AND principal = $2
    RETURNING message_count - $6 AS base)
  ${messagesInsert}`;

export class PostgresConversations implements ConversationStore {
  /** Set once by `Store.useEncryption`; conversation access is refused until then. */
  cipher: FieldCipher | undefined;

  constructor(private readonly pool: pg.Pool) {}

  private get fields(): FieldCipher {
    if (!this.cipher) throw new FieldCipherMissingError();
    return this.cipher;
  }

  async appendTurn(turn: TurnRecord): Promise<boolean> {
    const { fields } = this;
    const id = turn.conversationId;
    const messages = turn.messages;
    const values: unknown[] = [
      id,
      turn.principal,
      turn.at,
      turn.model,
      turn.systemPrompt === undefined
        ? null
        : fields.encrypt(turn.systemPrompt, fieldContext.systemPrompt(id)),
      messages.length,
      messages.map((message) => message.id),
      messages.map((message) => message.role),
      messages.map((message) =>
        fields.encrypt(JSON.stringify(message.content), fieldContext.messageContent(message.id)),
      ),
      messages.map((message) => message.tokens),
      messages.map((message) => message.incomplete),
    ];
    if (turn.create) {
      values.push(fields.encrypt(turn.create.title, fieldContext.title(id)));
      await query(this.pool, createTurnSql, values);
      return true;
    }
    if (messages.length === 0) {
      const touched = await query(
        this.pool,
        `UPDATE conversations SET updated_at = $3, model = $4,
           system_prompt = COALESCE($5, system_prompt)
         WHERE id = $1 AND principal = $2`,
        values.slice(0, 5),
      );
      return (touched.rowCount ?? 0) > 0;
    }
    // No conversation row (deleted meanwhile, or another principal's): nothing inserted.
    const inserted = await query(this.pool, continueTurnSql, values);
    return (inserted.rowCount ?? 0) > 0;
  }

  async getConversation(principal: string, id: string): Promise<ConversationRecord | undefined> {
    const fields = this.fields;
    const { rows } = await query<ConversationRow>(
      this.pool,
      'SELECT * FROM conversations WHERE id = $1 AND principal = $2',
      [id, principal],
    );
    return readDecrypting(fields, () => rows[0] && this.toConversation(rows[0]));
  }

  async messageCount(principal: string, id: string): Promise<number | undefined> {
    const { rows } = await query<{ message_count: number }>(
      this.pool,
      'SELECT message_count FROM conversations WHERE id = $1 AND principal = $2',
      [id, principal],
    );
    return rows[0]?.message_count;
  }

  async messagePage(
    principal: string,
    id: string,
    page: MessagePageQuery,
  ): Promise<MessagePage | undefined> {
    const fields = this.fields;
    // One more than asked: whether it exists says whether older messages remain.
    const { rows } = await query<JoinedRow>(this.pool, messagesSql, [
      id,
      principal,
      page.beforeSeq ?? Number.MAX_SAFE_INTEGER,
      page.limit + 1,
    ]);
    if (rows.length === 0) return undefined;
    return readDecrypting(fields, () => {
      const messages = this.toMessages(rows);
      const hasMore = messages.length > page.limit;
      return { messages: messages.slice(0, page.limit).reverse(), hasMore };
    });
  }

  async loadContext(
    principal: string,
    id: string,
    maxTokens: number,
  ): Promise<ContextRecord | undefined> {
    const fields = this.fields;
    const { rows } = await query<JoinedRow>(this.pool, contextSql, [id, principal, maxTokens]);
    const row = rows[0];
    if (!row) return undefined;
    return readDecrypting(fields, () => {
      const messages = this.toMessages(rows);
      const olderCount = messages[0] ? messages[0].seq - 1 : row.message_count;
      return { conversation: this.toConversation(row), messages, olderCount };
    });
  }

  async listConversations(
    principal: string,
    page: { limit: number; after?: ConversationCursor | undefined },
  ): Promise<ConversationPage> {
    const fields = this.fields;
    const { after } = page;
    const { rows } = after
      ? await query<ConversationRow>(
          this.pool,
          `SELECT * FROM conversations WHERE principal = $1 AND (updated_at, id) < ($2, $3)
           ORDER BY updated_at DESC, id DESC LIMIT $4`,
          [principal, after.updatedAt, after.id, page.limit + 1],
        )
      : await query<ConversationRow>(
          this.pool,
          `SELECT * FROM conversations WHERE principal = $1
           ORDER BY updated_at DESC, id DESC LIMIT $2`,
          [principal, page.limit + 1],
        );
    return readDecrypting(fields, () => ({
      items: rows.slice(0, page.limit).map((row) => this.toConversation(row)),
      hasMore: rows.length > page.limit,
    }));
  }

  async renameConversation(
    principal: string,
    id: string,
    title: string,
    at: number,
  ): Promise<ConversationRecord | undefined> {
    const fields = this.fields;
    const { rows } = await query<ConversationRow>(
      this.pool,
      `UPDATE conversations SET title = $1, updated_at = $2 WHERE id = $3 AND principal = $4
       RETURNING *`,
      [fields.encrypt(title, fieldContext.title(id)), at, id, principal],
    );
    return readDecrypting(fields, () => rows[0] && this.toConversation(rows[0]));
  }

  async deleteConversation(principal: string, id: string): Promise<boolean> {
    // Works before `useEncryption` too: deleting writes no text. Messages go by cascade.
    const result = await query(
      this.pool,
      'DELETE FROM conversations WHERE id = $1 AND principal = $2',
      [id, principal],
    );
    return (result.rowCount ?? 0) > 0;
  }

  private toConversation(row: ConversationRow): ConversationRecord {
    return conversationFromRow(this.fields, row);
  }

  private toMessages(rows: readonly JoinedRow[]): MessageRecord[] {
    const messages: MessageRecord[] = [];
    for (const row of rows) {
      if (row.m_id === null) continue;
      const content = readField(this.fields, row.m_content, fieldContext.messageContent(row.m_id));
      messages.push({
        id: row.m_id,
        conversationId: row.id,
        seq: row.m_seq,
        role: row.m_role,
        // Authenticated by the decryption (or written by this service before it encrypted).
        content: JSON.parse(content) as MessageContent,
        tokens: row.m_tokens,
        incomplete: row.m_incomplete,
        createdAt: row.m_created_at,
      });
    }
    return messages;
  }
}
