const byteUnits = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes as people read them: `512 B`, `1.5 KiB`, `12 MiB` (powers of 1024; 3 significant digits). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${formatSignificant(value)} ${byteUnits[unit] ?? ''}`;
}

/** A delay in milliseconds: `850 ms`, `1.2 s`, `45 s`, `2.5 min`, `1.3 h`; `–` for none. */
export function formatDelay(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${formatSignificant(ms / 1000)} s`;
  if (ms < 3_600_000) return `${formatSignificant(ms / 60_000)} min`;
  return `${formatSignificant(ms / 3_600_000)} h`;
}

/** A count with thousands separators. */
export function formatCount(count: number): string {
  return Number.isFinite(count) ? Math.round(count).toLocaleString('en-US') : '–';
}

/** One decimal below 10 (`1.2`, `9.9`), whole numbers above (`12`, `340`); no trailing `.0`. */
function formatSignificant(value: number): string {
  if (value >= 10) return String(Math.round(value));
  const rounded = Math.round(value * 10) / 10;
  // 9.96 rounds to 10: shown as a whole number like the rest.
  return rounded >= 10 ? '10' : String(rounded);
}
