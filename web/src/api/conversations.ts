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

export async function getConversation(
  api: ApiClient,
  id: string,
  signal?: AbortSignal,
): Promise<ConversationDetail> {
  return (await api.json(`/v1/conversations/${encodeURIComponent(id)}`, {
    signal,
  })) as ConversationDetail;
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
