import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../../test/support/harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});

type Conversation = { id: string; title: string; message_count: number; updated_at: number };
type Page = { data: Conversation[]; has_more: boolean; next_cursor: string | null };

async function startConversation(principal: string, text: string): Promise<string> {
  const response = await harness.json<{ conversation_id: string }>('/v1/chat', {
    body: { messages: [{ role: 'user', content: text }] },
    principal,
  });
  return response.body.conversation_id;
}

describe('conversations', () => {
  it('lists the caller’s conversations newest first, page by page', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++)
      ids.push(await startConversation('lister', `question ${index}`));
    await startConversation('someone-else', 'not yours');
    const first = await harness.json<Page>('/v1/conversations?limit=2', { principal: 'lister' });
    expect(first.status).toBe(200);
    expect(first.body.data.map((c) => c.title)).toEqual(['question 4', 'question 3']);
    expect(first.body.has_more).toBe(true);
    const seen = [...first.body.data];
    let cursor = first.body.next_cursor;
    while (cursor !== null) {
      const page = await harness.json<Page>(`/v1/conversations?limit=2&after=${cursor}`, {
        principal: 'lister',
      });
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    }
    expect(seen.map((c) => c.id)).toEqual([...ids].reverse());
    expect(seen.every((c) => c.message_count === 2)).toBe(true);
  });

  it('rejects bad paging parameters with a 400', async () => {
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'after=bm90LWEtY3Vyc29y',
      'colour=red',
    ]) {
      const response = await harness.json<{ error: { code: string } }>(
        `/v1/conversations?${query}`,
      );
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
  });

  it('gets one conversation with its messages', async () => {
    const id = await startConversation('reader', 'What is assistd?');
    const response = await harness.json<
      Conversation & { messages: Array<{ role: string; content: string }> }
    >(`/v1/conversations/${id}`, { principal: 'reader' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id,
      title: 'What is assistd?',
      message_count: 2,
      object: 'conversation',
    });
    expect(response.body.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(response.body).toMatchObject({ has_more: false, next_cursor: null });
  });

  it('pages a long conversation’s messages, newest page first', async () => {
    type Detail = {
      messages: Array<{ role: string; content: string }>;
      has_more: boolean;
      next_cursor: string | null;
    };
    const id = await startConversation('pager', 'turn 0');
    for (let turn = 1; turn < 4; turn++) {
      const next = await harness.json('/v1/chat', {
        body: { conversation_id: id, messages: [{ role: 'user', content: `turn ${turn}` }] },
        principal: 'pager',
      });
      expect(next.status).toBe(200);
    }
    const texts = (detail: Detail) =>
      detail.messages.filter((m) => m.role === 'user').map((m) => m.content);
    const newest = await harness.json<Detail>(`/v1/conversations/${id}?limit=3`, {
      principal: 'pager',
    });
    expect(newest.status).toBe(200);
    expect(newest.body.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(texts(newest.body)).toEqual(['turn 3']);
    expect(newest.body.has_more).toBe(true);
    const seen = [...newest.body.messages];
    let cursor = newest.body.next_cursor;
    while (cursor !== null) {
      const older = await harness.json<Detail>(`/v1/conversations/${id}?limit=3&before=${cursor}`, {
        principal: 'pager',
      });
      expect(older.status).toBe(200);
      seen.unshift(...older.body.messages);
      cursor = older.body.next_cursor;
    }
    expect(seen).toHaveLength(8);
    expect(texts({ messages: seen, has_more: false, next_cursor: null })).toEqual([
      'turn 0',
      'turn 1',
      'turn 2',
      'turn 3',
    ]);
    // The default page holds all eight; bad paging is a 400 before anything is read.
    const all = await harness.json<Detail>(`/v1/conversations/${id}`, { principal: 'pager' });
    expect(all.body.messages).toHaveLength(8);
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'before=0', 'before=abc', 'x=1']) {
      const bad = await harness.json<{ error: { code: string; param: string | null } }>(
        `/v1/conversations/${id}?${query}`,
        { principal: 'pager' },
      );
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code, query).toBe('invalid_request');
    }
  });

  it('renames and deletes, and treats another principal’s conversation as missing', async () => {
    const id = await startConversation('owner', 'rename me');
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { title: 'stolen' }],
      ['DELETE', undefined],
    ] as const) {
      const response = await harness.json<{ error: { code: string } }>(`/v1/conversations/${id}`, {
        method,
        body,
        principal: 'intruder',
      });
      expect(response.status, method).toBe(404);
      expect(response.body.error.code).toBe('conversation_not_found');
    }
    const renamed = await harness.json<Conversation>(`/v1/conversations/${id}`, {
      method: 'PATCH',
      body: { title: '  Project notes  ' },
      principal: 'owner',
    });
    expect(renamed.body.title).toBe('Project notes');
    const emptyTitle = await harness.json(`/v1/conversations/${id}`, {
      method: 'PATCH',
      body: { title: ' ' },
      principal: 'owner',
    });
    expect(emptyTitle.status).toBe(400);

    const deleted = await harness.json(`/v1/conversations/${id}`, {
      method: 'DELETE',
      principal: 'owner',
    });
    expect(deleted.body).toEqual({ id, object: 'conversation.deleted', deleted: true });
    expect((await harness.json(`/v1/conversations/${id}`, { principal: 'owner' })).status).toBe(
      404,
    );
    const chat = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: { conversation_id: id, messages: [{ role: 'user', content: 'still there?' }] },
      principal: 'owner',
    });
    expect(chat.status).toBe(404);
  });
});
