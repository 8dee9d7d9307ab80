import type { ConversationStore } from '../storage/types.js';

/**
 * The conversation store with its writes timed (`assistd_store_write_duration_seconds`): turns,
 * renames and deletes. Reads pass straight through.
 */
export function timedConversations(
  store: ConversationStore,
  observe: (operation: string, ms: number) => void,
): ConversationStore {
  const timed = async <T>(operation: string, write: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await write();
    } finally {
      observe(operation, performance.now() - started);
    }
  };
  return {
    appendTurn: (turn) => timed('append_turn', () => store.appendTurn(turn)),
    renameConversation: (principal, id, title, at) =>
      timed('rename', () => store.renameConversation(principal, id, title, at)),
    deleteConversation: (principal, id) =>
      timed('delete', () => store.deleteConversation(principal, id)),
    getConversation: (principal, id) => store.getConversation(principal, id),
    messageCount: (principal, id) => store.messageCount(principal, id),
    messagePage: (principal, id, page) => store.messagePage(principal, id, page),
    loadContext: (principal, id, maxTokens) => store.loadContext(principal, id, maxTokens),
    listConversations: (principal, page) => store.listConversations(principal, page),
  };
}
