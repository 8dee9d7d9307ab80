import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationSummary } from '../api/types';
import { activityLabel, isoTime } from '../format-time';
import { PencilIcon, TrashIcon } from './icons';

export interface ConversationItemProps {
  conversation: ConversationSummary;
  active: boolean;
  onSelect: (id: string) => void;
  /** Resolves true when the server renamed it. */
  onRename: (id: string, title: string) => Promise<boolean>;
  onDelete: (id: string) => Promise<boolean>;
}

type Mode = 'view' | 'rename' | 'confirm-delete';

export function titleOf(conversation: ConversationSummary): string {
  return conversation.title.trim() === '' ? 'Untitled conversation' : conversation.title;
}

/** One conversation: open it, rename it inline (Enter saves, Escape cancels) or delete it. */
export function ConversationItem(props: ConversationItemProps) {
  const { conversation } = props;
  const title = titleOf(conversation);
  const [mode, setMode] = useState<Mode>('view');
  const [draft, setDraft] = useState(conversation.title);
  const [busy, setBusy] = useState(false);
  const openButton = useRef<HTMLButtonElement>(null);
  const renameInput = useRef<HTMLInputElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  // Escape and Enter both end editing, and the input's blur that follows must not save again.
  const editing = useRef(false);
  const previousMode = useRef<Mode>('view');

  useEffect(() => {
    if (mode === 'rename') renameInput.current?.select();
    else if (mode === 'confirm-delete') confirmButton.current?.focus();
    else if (previousMode.current !== 'view') openButton.current?.focus();
    previousMode.current = mode;
  }, [mode]);

  function startRename() {
    setDraft(conversation.title);
    editing.current = true;
    setMode('rename');
  }

  async function finishRename(save: boolean) {
    if (!editing.current) return;
    editing.current = false;
    const next = draft.trim();
    if (save && next !== '' && next !== conversation.title) {
      setBusy(true);
      await props.onRename(conversation.id, next);
      setBusy(false);
    }
    setMode('view');
  }

  async function confirmDelete() {
    setBusy(true);
    const deleted = await props.onDelete(conversation.id);
    // When deleted, this item is gone; the list moves focus.
    if (!deleted) {
      setBusy(false);
      setMode('view');
    }
  }

  return (
    <li
      class={props.active ? 'conversation conversation--active' : 'conversation'}
      data-testid="conversation-item"
      data-conversation-id={conversation.id}
    >
      {mode === 'rename' ? (
        <form
          class="conversation-rename"
          onSubmit={(event) => {
            event.preventDefault();
            void finishRename(true);
          }}
        >
          <label class="visually-hidden" for={`rename-${conversation.id}`}>
            New title for “{title}”
          </label>
          <input
            ref={renameInput}
            id={`rename-${conversation.id}`}
            class="text-input text-input--small"
            data-testid="rename-input"
            value={draft}
            maxLength={200}
            disabled={busy}
            onInput={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                void finishRename(false);
              }
            }}
            onBlur={() => void finishRename(true)}
          />
        </form>
      ) : (
        <button
          ref={openButton}
          type="button"
          class="conversation-open"
          aria-current={props.active ? 'true' : undefined}
          onClick={() => props.onSelect(conversation.id)}
        >
          <span class="conversation-title">{title}</span>
          <time class="conversation-time" dateTime={isoTime(conversation.updated_at)}>
            {activityLabel(conversation.updated_at)}
          </time>
        </button>
      )}
      {mode === 'view' && (
        <span class="conversation-actions">
          <button
            type="button"
            class="icon-button"
            data-testid="rename-conversation"
            aria-label={`Rename “${title}”`}
            title="Rename"
            onClick={startRename}
          >
            <PencilIcon />
          </button>
          <button
            type="button"
            class="icon-button icon-button--danger"
            data-testid="delete-conversation"
            aria-label={`Delete “${title}”`}
            title="Delete"
            onClick={() => setMode('confirm-delete')}
          >
            <TrashIcon />
          </button>
        </span>
      )}
      {mode === 'confirm-delete' && (
        <div
          class="conversation-confirm"
          role="group"
          aria-label={`Delete “${title}”?`}
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.stopPropagation();
              setMode('view');
            }
          }}
        >
          <span class="conversation-confirm-text">Delete this conversation?</span>
          <button
            ref={confirmButton}
            type="button"
            class="button button--danger button--small"
            data-testid="confirm-delete"
            disabled={busy}
            onClick={() => void confirmDelete()}
          >
            Delete
          </button>
          <button
            type="button"
            class="button button--small"
            data-testid="cancel-delete"
            disabled={busy}
            onClick={() => setMode('view')}
          >
            Cancel
          </button>
        </div>
      )}
    </li>
  );
}
