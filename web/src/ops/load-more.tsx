import type { ComponentChildren } from 'preact';

export interface LoadMoreProps {
  /** A page is being loaded: "Loading…" shows instead of the button. */
  loading: boolean;
  /** There is a next page: the button shows while nothing loads. */
  hasMore: boolean;
  /** The button's text. */
  label: string;
  testId: string;
  onLoadMore: () => Promise<void>;
  /** Shown after the button, e.g. that the listing ends here. */
  children?: ComponentChildren;
}

/** The line under a table that is loaded a page at a time (see `usePagedListing`). */
export function LoadMore(props: LoadMoreProps) {
  return (
    <div class="audit-paging">
      {props.loading && <span class="muted">Loading…</span>}
      {!props.loading && props.hasMore && (
        <button
          type="button"
          class="button"
          data-testid={props.testId}
          onClick={() => void props.onLoadMore()}
        >
          {props.label}
        </button>
      )}
      {props.children}
    </div>
  );
}
