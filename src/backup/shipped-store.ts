import type { ConversationStore } from '../storage/types.js';
import type { LogShipper } from './log-shipper.js';

/**
 * The conversation store with every change also appended to the shipped log, after the store
 * committed it and before the caller hears it is done: an acknowledged turn is in the database
 * and in a fsynced local segment, and in object storage within `log_shipping.max_delay_seconds`.
 * A log append that fails fails the operation (the turn is stored; the client retries).
 */
export function shippedConversations(
  store: ConversationStore,
  shipper: LogShipper,
  clock: () => number = Date.now,
): ConversationStore {
  return {
    ...bind(store),
    appendTurn: async (turn) => {
      const stored = await store.appendTurn(turn);
      if (stored) await shipper.append({ type: 'turn', at: clock(), turn });
      return stored;
    },
    renameConversation: async (principal, id, title, at) => {
      const renamed = await store.renameConversation(principal, id, title, at);
      if (renamed) await shipper.append({ type: 'rename', at: clock(), principal, id, title });
      return renamed;
    },
    deleteConversation: async (principal, id) => {
      const deleted = await store.deleteConversation(principal, id);
      if (deleted) await shipper.append({ type: 'delete', at: clock(), principal, id });
      return deleted;
    },
  };
}

function bind(store: ConversationStore): ConversationStore {
  return {
    appendTurn: (turn) => store.appendTurn(turn),
    getConversation: (principal, id) => store.getConversation(principal, id),
    messageCount: (principal, id) => store.messageCount(principal, id),
    messagePage: (principal, id, page) => store.messagePage(principal, id, page),
    loadContext: (principal, id, maxTokens) => store.loadContext(principal, id, maxTokens),
    listConversations: (principal, page) => store.listConversations(principal, page),
    renameConversation: (principal, id, title, at) =>
      store.renameConversation(principal, id, title, at),
    deleteConversation: (principal, id) => store.deleteConversation(principal, id),
  };
}
