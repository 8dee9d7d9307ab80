import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationsState } from '../hooks/use-conversations';
import { ConversationItem, titleOf } from './conversation-item';

export interface ConversationSidebarProps {
  conversations: ConversationsState;
  activeId: string | undefined;
  /** Narrow screens only: whether the sidebar is shown over the chat. */
  open: boolean;
  onClose: () => void;
  onNewChat: () => void;
  onSelect: (id: string) => void;
  /** The conversation was deleted (the chat shows a new one if it was open). */
  onDeleted: (id: string) => void;
}

/** The caller's conversations, newest activity first, with a title filter over the loaded ones. */
export function ConversationSidebar(props: ConversationSidebarProps) {
  const { conversations } = props;
  const [query, setQuery] = useState('');
  const newChatButton = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  // After a delete, focus goes to the conversation that took its place (or New chat).
  const [focusIndex, setFocusIndex] = useState<number | undefined>(undefined);

  const needle = query.trim().toLocaleLowerCase();
  const shown =
    needle === ''
      ? conversations.items
      : conversations.items.filter((item) => titleOf(item).toLocaleLowerCase().includes(needle));

  useEffect(() => {
    if (props.open) newChatButton.current?.focus();
  }, [props.open]);

  useEffect(() => {
    if (focusIndex === undefined) return;
    const buttons = list.current?.querySelectorAll<HTMLButtonElement>('.conversation-open');
    const target = buttons?.[Math.min(focusIndex, buttons.length - 1)];
    (target ?? newChatButton.current)?.focus();
    setFocusIndex(undefined);
  }, [focusIndex, shown.length]);

  async function remove(id: string): Promise<boolean> {
    const index = shown.findIndex((item) => item.id === id);
    const deleted = await conversations.remove(id);
    if (deleted) {
      props.onDeleted(id);
      setFocusIndex(index);
    }
    return deleted;
  }

  const searchHint = conversations.hasMore
    ? 'Search loaded conversations by title'
    : 'Search conversations by title';

  return (
    <nav
      id="conversation-sidebar"
      class={props.open ? 'sidebar sidebar--open' : 'sidebar'}
      aria-label="Conversations"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && props.open) props.onClose();
      }}
    >
      <button
        ref={newChatButton}
        type="button"
        class="button button--primary new-chat"
        data-testid="new-chat"
        onClick={props.onNewChat}
      >
        New chat
      </button>
      <label class="visually-hidden" for="conversation-search">
        {searchHint}
      </label>
      <input
        id="conversation-search"
        class="text-input text-input--small"
        type="search"
        data-testid="conversation-search"
        placeholder={searchHint}
        value={query}
        onInput={(event) => setQuery(event.currentTarget.value)}
      />
      <div aria-live="polite" class="sidebar-messages">
        {conversations.error !== undefined && (
          <p class="sidebar-error" data-testid="conversation-error">
            {conversations.error}
          </p>
        )}
        {needle !== '' && (
          <p class="visually-hidden">
            {shown.length === 1 ? '1 conversation matches' : `${shown.length} conversations match`}
          </p>
        )}
      </div>
      <ul ref={list} class="conversation-list" aria-busy={conversations.loading}>
        {shown.map((conversation) => (
          <ConversationItem
            key={conversation.id}
            conversation={conversation}
            active={conversation.id === props.activeId}
            onSelect={props.onSelect}
            onRename={conversations.rename}
            onDelete={remove}
          />
        ))}
      </ul>
      {shown.length === 0 && (
        <p class="muted sidebar-empty">
          {needle !== ''
            ? 'No loaded conversation has that in its title.'
            : conversations.loading
              ? 'Loading conversations…'
              : 'No conversations yet.'}
        </p>
      )}
      {conversations.hasMore && (
        <button
          type="button"
          class="button load-more"
          data-testid="load-more"
          disabled={conversations.loading}
          onClick={conversations.loadMore}
        >
          {conversations.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </nav>
  );
}
