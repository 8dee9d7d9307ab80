/** How many of the newest days, ISO weeks and months keep their newest snapshot. */
export interface RetentionPolicy {
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
}

/**
 * The snapshots a retention policy keeps (restic's rule): going from the newest, the newest
 * snapshot of each of the last `keepDaily` days that have one is kept, likewise for ISO weeks
 * and months; the newest snapshot is always kept. Times are UTC.
 */
export function snapshotsToKeep<T extends { id: string; time: number }>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
): Set<string> {
  const newestFirst = [...snapshots].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  const keep = new Set<string>();
  if (newestFirst[0]) keep.add(newestFirst[0].id);
  const buckets: Array<[number, (time: number) => string]> = [
    [policy.keepDaily, (time) => new Date(time).toISOString().slice(0, 10)],
    [policy.keepWeekly, isoWeek],
    [policy.keepMonthly, (time) => new Date(time).toISOString().slice(0, 7)],
  ];
  for (const [count, period] of buckets) {
    const seen = new Set<string>();
    for (const snapshot of newestFirst) {
      if (seen.size >= count) break;
      const key = period(snapshot.time);
      if (seen.has(key)) continue;
      seen.add(key);
      keep.add(snapshot.id);
    }
  }
  return keep;
}

/**
 * `snapshotsToKeep` applied to the snapshots of each folder alone: a folder backed up less often
 * than another keeps its own days, weeks and months, and its newest snapshot always stays,
 * whatever was backed up since elsewhere. By folder, not by host and folder as restic groups: a
 * Kubernetes pod's host name changes with every pod, and each old pod's newest snapshot would
 * stay forever (a backup's previous snapshot is found by folder too).
 */
export function snapshotsToKeepPerFolder<T extends { id: string; time: number; source: string }>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
): Set<string> {
  const groups = new Map<string, T[]>();
  for (const snapshot of snapshots) {
    const group = snapshot.source;
    const members = groups.get(group);
    if (members) members.push(snapshot);
    else groups.set(group, [snapshot]);
  }
  const keep = new Set<string>();
  for (const members of groups.values()) {
    for (const id of snapshotsToKeep(members, policy)) keep.add(id);
  }
  return keep;
}

/** `YYYY-Www`: the ISO week (Monday first; week 1 holds the year's first Thursday). */
function isoWeek(time: number): string {
  const date = new Date(time);
  const monday0 = (date.getUTCDay() + 6) % 7;
  // The Thursday of this week decides the year, and counts the weeks from that year's 1 January.
  const thursday = Date.UTC(
    date.getUTCFullYear(),
    date.getUTCMonth(),
    date.getUTCDate() - monday0 + 3,
  );
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / 604_800_000);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
