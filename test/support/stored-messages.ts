import type { ConversationStore, MessageRecord } from '../../src/storage/types.js';

/** Every message of a conversation, oldest first: one page as large as it gets. */
export async function allMessages(
  store: Pick<ConversationStore, 'messagePage'>,
  principal: string,
  id: string,
): Promise<MessageRecord[] | undefined> {
  return (await store.messagePage(principal, id, { limit: Number.MAX_SAFE_INTEGER - 1 }))?.messages;
}
