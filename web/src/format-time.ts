const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const yearFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
});

/** A short label for a conversation's last activity: the time today, else the date. */
export function activityLabel(epochSeconds: number, now = new Date()): string {
  const date = new Date(epochSeconds * 1000);
  if (date.toDateString() === now.toDateString()) return timeFormat.format(date);
  if (date.getFullYear() === now.getFullYear()) return dateFormat.format(date);
  return yearFormat.format(date);
}

/** The full timestamp, for the element's `dateTime`. */
export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
