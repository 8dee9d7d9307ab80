const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * A byte count for people: `512 bytes`, `1.50 KiB`, `12.3 GiB` (binary units, two decimals below
 * 10 and one above). Fractions, as in a transfer rate, are rounded to whole bytes.
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${Math.round(bytes)} bytes`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
