import { formatTimestamp, isoOf } from './format';

/** A time (ISO text or ms since the epoch) as local text, machine-readable in `dateTime`. */
export function TimeText({ value }: { value: number | string }) {
  return <time dateTime={isoOf(value)}>{formatTimestamp(value)}</time>;
}
