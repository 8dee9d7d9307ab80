import { shortKid } from './key-rotation';

/**
 * A long id (a token's, a signing key's) shortened for a table cell: the start on screen, the whole
 * id in the tooltip and for screen readers.
 */
export function ShortId({ id }: { id: string }) {
  return (
    <code class="short-id" title={id}>
      <span aria-hidden="true">{shortKid(id)}</span>
      <span class="visually-hidden">{id}</span>
    </code>
  );
}
