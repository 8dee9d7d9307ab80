import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import type { ApiClient } from '../api/client';
import { deleteConversation, listConversations, renameConversation } from '../api/conversations';
import type { ConversationSummary } from '../api/types';
import { describeError } from '../error-text';

/** Conversations fetched per page (the server allows up to 100). */
const pageSize = 30;

export interface ConversationsState {
  items: ConversationSummary[];
  hasMore: boolean;
  loading: boolean;
  error: string | undefined;
  loadMore: () => void;
  /** Fetches the first page again and merges it, keeping older pages already loaded. */
  refresh: () => void;
  /** Resolves true when renamed; false (with `error` set) when the server refused. */
  rename: (id: string, title: string) => Promise<boolean>;
  remove: (id: string) => Promise<boolean>;
}

export function useConversations(api: ApiClient): ConversationsState {
  const [items, setItemsState] = useState<ConversationSummary[]>([]);
  // Merges below need the current list synchronously, together with the cursor that goes with it.
  const itemsRef = useRef<ConversationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>(undefined);

  const setItems = useCallback((update: (old: ConversationSummary[]) => ConversationSummary[]) => {
    itemsRef.current = update(itemsRef.current);
    setItemsState(itemsRef.current);
  }, []);

  const fail = useCallback((failure: unknown, what: string) => {
    // A 401 already sent the page back to sign-in; an abort is not a failure.
    if (failure instanceof ApiError && failure.status !== 401) {
      setError(`${what}: ${describeError(failure)}`);
    }
  }, []);

  const refresh = useCallback(() => {
    setLoading(true);
    listConversations(api, pageSize)
      .then((page) => {
        setError(undefined);
        // The first page is current; older items already loaded keep their place after it, and
        // the cursor that led past them stays valid: it is a position in the order, not an item.
        const fresh = new Set(page.data.map((item) => item.id));
        const older = itemsRef.current.filter((item) => !fresh.has(item.id));
        setItems(() => [...page.data, ...older]);
        if (older.length === 0) {
          setCursor(page.next_cursor);
          setHasMore(page.has_more);
        }
      })
      .catch((failure: unknown) => fail(failure, 'Conversations could not be loaded'))
      .finally(() => setLoading(false));
  }, [api, fail, setItems]);

  useEffect(refresh, [refresh]);

  const loadMore = useCallback(() => {
    if (cursor === null) return;
    setLoading(true);
    listConversations(api, pageSize, cursor)
      .then((page) => {
        setError(undefined);
        setItems((old) => {
          const known = new Set(old.map((item) => item.id));
          return [...old, ...page.data.filter((item) => !known.has(item.id))];
        });
        setCursor(page.next_cursor);
        setHasMore(page.has_more);
      })
      .catch((failure: unknown) => fail(failure, 'More conversations could not be loaded'))
      .finally(() => setLoading(false));
  }, [api, cursor, fail, setItems]);

  const rename = useCallback(
    async (id: string, title: string) => {
      try {
        const renamed = await renameConversation(api, id, title);
        setItems((old) =>
          old.map((item) => (item.id === id ? { ...item, title: renamed.title ?? title } : item)),
        );
        setError(undefined);
        return true;
      } catch (failure) {
        fail(failure, 'The conversation could not be renamed');
        return false;
      }
    },
    [api, fail, setItems],
  );

  const remove = useCallback(
    async (id: string) => {
      try {
        await deleteConversation(api, id);
        setItems((old) => old.filter((item) => item.id !== id));
        setError(undefined);
        return true;
      } catch (failure) {
        if (failure instanceof ApiError && failure.code === 'conversation_not_found') {
          // Gone already (deleted in another tab): the list just catches up.
          setItems((old) => old.filter((item) => item.id !== id));
          return true;
        }
        fail(failure, 'The conversation could not be deleted');
        return false;
      }
    },
    [api, fail, setItems],
  );

  return { items, hasMore, loading, error, loadMore, refresh, rename, remove };
}
