import type { FastifyInstance } from 'fastify';
import * as z from '../../util/zod.js';
import { AppError } from '../../errors.js';
import type { ConversationCursor, ConversationRecord } from '../../storage/types.js';
import type { AppDeps } from '../app.js';
import { principalOf } from '../plugins/auth.js';
import { parseBody, parseValue } from '../validate.js';

const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(512).optional(),
});
const idParamsSchema = z.strictObject({ id: z.string().min(1).max(128) });
/**
 * A conversation's messages come a page at a time, newest page first (each page oldest first):
 * `before` is the previous page's `next_cursor`.
 */
const messagesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'not a cursor this server issued')
    .transform(Number)
    .optional(),
});
const renameBodySchema = z.strictObject({ title: z.string().trim().min(1).max(200) });

/** The caller's conversations. Another principal's conversation is a 404, never a 403. */
export function conversationRoutes(app: FastifyInstance, deps: AppDeps): void {
  const store = deps.conversations ?? deps.store.conversations;

  app.get('/v1/conversations', async (request) => {
    const query = parseValue(listQuerySchema, request.query);
    const after = query.after === undefined ? undefined : decodeCursor(query.after);
    const page = await store.listConversations(principalOf(request).name, {
      limit: query.limit,
      after,
    });
    const last = page.items.at(-1);
    return {
      object: 'list',
      data: page.items.map(conversationBody),
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeCursor(last) : null,
    };
  });

  app.get('/v1/conversations/:id', async (request) => {
    const { id } = parseValue(idParamsSchema, request.params);
    const query = parseValue(messagesQuerySchema, request.query);
    const principal = principalOf(request).name;
    const [conversation, page] = await Promise.all([
      store.getConversation(principal, id),
      store.messagePage(principal, id, { limit: query.limit, beforeSeq: query.before }),
    ]);
    if (!conversation || !page) throw notFound();
    const first = page.messages[0];
    return {
      ...conversationBody(conversation),
      system_prompt: conversation.systemPrompt ?? null,
      // The newest messages (all of them up to `limit`); older ones with `?before=next_cursor`.
      has_more: page.hasMore,
      next_cursor: page.hasMore && first ? String(first.seq) : null,
      messages: page.messages.map((message) => ({
        id: message.id,
        role: message.role,
        content: message.content,
        created_at: seconds(message.createdAt),
        incomplete: message.incomplete,
      })),
    };
  });

  app.patch('/v1/conversations/:id', async (request) => {
    const { id } = parseValue(idParamsSchema, request.params);
    const { title } = parseBody(renameBodySchema, request.body);
    const renamed = await store.renameConversation(
      principalOf(request).name,
      id,
      title,
      deps.clock(),
    );
    if (!renamed) throw notFound();
    deps.cache.delete(id);
    return conversationBody(renamed);
  });

  app.delete('/v1/conversations/:id', async (request) => {
    const { id } = parseValue(idParamsSchema, request.params);
    const deleted = await store.deleteConversation(principalOf(request).name, id);
    if (!deleted) throw notFound();
    deps.cache.delete(id);
    return { id, object: 'conversation.deleted', deleted: true };
  });
}

function conversationBody(conversation: ConversationRecord) {
  return {
    id: conversation.id,
    object: 'conversation',
    title: conversation.title,
    model: conversation.model,
    created_at: seconds(conversation.createdAt),
    updated_at: seconds(conversation.updatedAt),
    message_count: conversation.messageCount,
  };
}

function notFound(): AppError {
  return new AppError('conversation_not_found');
}

function seconds(milliseconds: number): number {
  return Math.floor(milliseconds / 1000);
}

/** Cursors are opaque to clients: base64url of `updatedAt:id`. */
function encodeCursor(conversation: ConversationRecord): string {
  return Buffer.from(`${conversation.updatedAt}:${conversation.id}`).toString('base64url');
}

function decodeCursor(cursor: string): ConversationCursor {
  const match = /^(\d{1,15}):(.{1,128})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw new AppError('invalid_request', 'after: not a cursor this server issued.', {
      param: 'after',
    });
  return { updatedAt: Number(match[1]), id: match[2]! };
}
