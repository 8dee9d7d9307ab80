import type { ApiClient } from './client';
import type { ConversationDetail, ConversationPage, ConversationSummary } from './types';

/** Newest activity first; `after` is the previous page's `next_cursor`. */
export async function listConversations(
  api: ApiClient,
  limit: number,
  after?: string,
): Promise<ConversationPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (after !== undefined) query.set('after', after);
  const page = (await api.json(`/v1/conversations?${query.toString()}`)) as ConversationPage;
  return {
    data: Array.isArray(page.data) ? page.data : [],
    has_more: page.has_more === true,
    next_cursor: typeof page.next_cursor === 'string' ? page.next_cursor : null,
  };
}

/** Messages per page when a conversation is opened, and per "Show earlier messages". */
export const messagePageSize = 50;

/** A conversation with its newest messages, or with the page before `before` (a `next_cursor`). */
export async function getConversation(
  api: ApiClient,
  id: string,
  before?: string,
): Promise<ConversationDetail> {
  const query = new URLSearchParams({ limit: String(messagePageSize) });
  if (before !== undefined) query.set('before', before);
  const detail = (await api.json(
    `/v1/conversations/${encodeURIComponent(id)}?${query.toString()}`,
  )) as ConversationDetail;
  return {
    ...detail,
    messages: Array.isArray(detail.messages) ? detail.messages : [],
    has_more: detail.has_more === true,
    next_cursor: typeof detail.next_cursor === 'string' ? detail.next_cursor : null,
  };
}

/** Resolves with the renamed conversation as the server stored it (trimmed title). */
export async function renameConversation(
  api: ApiClient,
  id: string,
  title: string,
): Promise<ConversationSummary> {
  return (await api.json(`/v1/conversations/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    body: { title },
  })) as ConversationSummary;
}

export async function deleteConversation(api: ApiClient, id: string) {
  await api.request(`/v1/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
