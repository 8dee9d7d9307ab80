import type { ComponentChildren } from 'preact';

export interface OpsTableProps {
  /** The id of what names the scrolling box: the caption (`captionId`) or a heading above it. */
  labelledBy: string;
  testId: string;
  /** For screen readers: what the table lists, in which order. */
  caption: string;
  captionId?: string;
  /** The column headings, in order. */
  columns: readonly ComponentChildren[];
  /** Text shown in one row across every column, for a table without rows; undefined: none. */
  empty?: string | undefined;
  /** `aria-busy`: rows are being loaded. */
  busy?: boolean;
  /** The rows. */
  children: ComponentChildren;
}

/**
 * A table of the Operations page in a box that scrolls sideways on a narrow screen; the box takes
 * focus so that it can be scrolled with the keyboard.
 */
export function OpsTable(props: OpsTableProps) {
  return (
    <div class="table-scroll" tabIndex={0} aria-labelledby={props.labelledBy}>
      <table class="ops-table" data-testid={props.testId} aria-busy={props.busy}>
        <caption id={props.captionId} class="visually-hidden">
          {props.caption}
        </caption>
        <thead>
          <tr>
            {props.columns.map((column, index) => (
              <th key={index} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.empty !== undefined && (
            <tr>
              <td colSpan={props.columns.length} class="muted">
                {props.empty}
              </td>
            </tr>
          )}
          {props.children}
        </tbody>
      </table>
    </div>
  );
}
