import { type Dispatch, type StateUpdater, useEffect, useRef, useState } from 'preact/hooks';
import { isAbortError } from '../api/api-error';

/** How a listing that is loaded page by page ("Load more") gets its pages. */
export interface PagedListingOptions<Listing> {
  /** Loads the first page. */
  first: (signal: AbortSignal) => Promise<Listing>;
  /** Loads the page after `listing`; resolves with `listing` and that page together. */
  next: (listing: Listing, signal: AbortSignal) => Promise<Listing>;
  /** Whether there is a page after `listing`: `loadMore` does nothing when there is none. */
  hasMore: (listing: Listing) => boolean;
  /** The text shown for a failed load. */
  describe: (failure: unknown) => string;
  /** The first page loads again whenever one of these changes (like `useEffect`'s deps). */
  deps: readonly unknown[];
}

export interface PagedListing<Listing> {
  /** The pages loaded so far; undefined before the first page and after it failed. */
  listing: Listing | undefined;
  setListing: Dispatch<StateUpdater<Listing | undefined>>;
  /** A page is being loaded. */
  loading: boolean;
  /** The last failed load's text, as `describe` words it; cleared when the next load starts. */
  error: string | undefined;
  setError: Dispatch<StateUpdater<string | undefined>>;
  /** A listing is shown and `hasMore` says it goes on. */
  hasMore: boolean;
  /** Loads the next page and appends it. */
  loadMore: () => Promise<void>;
  /** Loads the first page again (Refresh). */
  reload: () => void;
}

/**
 * A listing loaded a page at a time. Each load (first page or next) aborts the one before, and
 * unmounting aborts the last; an aborted load changes no state. A failed first page clears the
 * listing; a failed next page keeps what is shown.
 */
export function usePagedListing<Listing>(
  options: PagedListingOptions<Listing>,
): PagedListing<Listing> {
  const { first, next, hasMore, describe, deps } = options;
  const [listing, setListing] = useState<Listing | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [reloads, setReloads] = useState(0);
  const controller = useRef<AbortController | undefined>(undefined);

  async function load(
    fetchListing: (signal: AbortSignal) => Promise<Listing>,
    keepOnFailure: boolean,
  ): Promise<void> {
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setLoading(true);
    setError(undefined);
    try {
      const loaded = await fetchListing(current.signal);
      if (current.signal.aborted) return;
      setListing(loaded);
    } catch (failure) {
      if (current.signal.aborted || isAbortError(failure)) return;
      if (!keepOnFailure) setListing(undefined);
      setError(describe(failure));
    }
    setLoading(false);
  }

  useEffect(() => {
    void load(first, false);
  }, [reloads, ...deps]);

  useEffect(() => () => controller.current?.abort(), []);

  return {
    listing,
    setListing,
    loading,
    error,
    setError,
    hasMore: listing !== undefined && hasMore(listing),
    loadMore: async () => {
      if (listing === undefined || !hasMore(listing)) return;
      await load((signal) => next(listing, signal), true);
    },
    reload: () => setReloads((count) => count + 1),
  };
}
