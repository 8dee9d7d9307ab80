const units: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration such as `90s`, `15m`, `12h`, `30d` or `2w` into milliseconds.
 * Returns undefined for anything else, so callers can word their own error.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = units[match[2]!]!;
  return amount > 0 ? amount * unit : undefined;
}
