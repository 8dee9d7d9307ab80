/**
 * Log-spaced histogram buckets for durations in milliseconds: three per doubling, from 1 ms to
 * about 2^20 ms (17 min), plus one for everything above. A quantile read from them by linear
 * interpolation is within a bucket's width (26 %) of the true value, and usually much closer;
 * the alert threshold values (2,000 ms) fall inside a bucket rather than on its edge, so a P99 just
 * above or below is told apart by interpolation, not rounded to a boundary.
 */
const perDoubling = 3;
const doublings = 20;

/** Buckets per histogram slot; the last one holds everything above the top bound. */
export const bucketCount = perDoubling * doublings + 2;

/** Upper bound of bucket `index`, ms (bucket 0 holds everything up to 1 ms). */
export function upperBound(index: number): number {
  return index >= bucketCount - 1 ? Number.POSITIVE_INFINITY : 2 ** (index / perDoubling);
}

/** The bucket a value falls in: the first whose upper bound is at least the value. */
export function bucketOf(value: number): number {
  if (!(value > 1)) return 0;
  let index = Math.ceil(Math.log2(value) * perDoubling);
  // Floating point: log2 may land a hair above an exact bound.
  if (index > 0 && upperBound(index - 1) >= value) index -= 1;
  return Math.min(index, bucketCount - 1);
}

/**
 * The `q` quantile (0–1) of `total` observations counted in `buckets`, interpolated linearly
 * inside the bucket that holds its rank (as Prometheus's `histogram_quantile` does). A rank in
 * the overflow bucket reads as the top bound.
 */
export function quantileOf(buckets: ArrayLike<number>, total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (let index = 0; index < bucketCount; index++) {
    const count = buckets[index]!;
    if (count > 0 && seen + count >= rank) {
      if (index === bucketCount - 1) return upperBound(index - 1);
      const lower = index === 0 ? 0 : upperBound(index - 1);
      const upper = upperBound(index);
      return lower + (upper - lower) * ((rank - seen) / count);
    }
    seen += count;
  }
  return upperBound(bucketCount - 2);
}
