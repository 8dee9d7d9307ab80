import type { BackupRetention, BackupSnapshot, BackupStatus } from '../api/backups';

/** How often the section asks while a backup runs (or was just started), and otherwise. */
export const runningPollMs = 3000;
export const idlePollMs = 30_000;

/** "7 daily, 4 weekly, 12 monthly"; "keeps every snapshot" when all three are 0. */
export function retentionText(retention: BackupRetention): string {
  const parts: string[] = [];
  if (retention.keep_daily > 0) parts.push(`${retention.keep_daily} daily`);
  if (retention.keep_weekly > 0) parts.push(`${retention.keep_weekly} weekly`);
  if (retention.keep_monthly > 0) parts.push(`${retention.keep_monthly} monthly`);
  return parts.length === 0 ? 'keeps every snapshot' : `keeps ${parts.join(', ')}`;
}

/** The cron expression as given, or what no schedule means. */
export function scheduleText(schedule: string | null): string {
  return schedule === null || schedule.trim() === '' ? 'none: only on demand' : `${schedule} (UTC)`;
}

/** Snapshots newest first; a time that does not parse goes last. */
export function newestFirst(snapshots: readonly BackupSnapshot[]): BackupSnapshot[] {
  const time = (snapshot: BackupSnapshot) => {
    const parsed = Date.parse(snapshot.created_at);
    return Number.isNaN(parsed) ? -Infinity : parsed;
  };
  return [...snapshots].sort((a, b) => time(b) - time(a));
}

/**
 * Whether the run started at `startedAt` (the `POST` answer's ISO time) shows in `status` yet:
 * running now, or finished as the last run. Until it does, the section keeps polling quickly,
 * since a small backup can start and finish between two polls.
 */
export function startSeen(status: BackupStatus, startedAt: string): boolean {
  if (status.running !== null) return true;
  const started = Date.parse(startedAt);
  const last = status.last_run === null ? NaN : Date.parse(status.last_run.started_at);
  if (Number.isNaN(started)) return status.last_run !== null;
  // The server's clock wrote both times, so they compare.
  return !Number.isNaN(last) && last >= started;
}

/**
 * A backup this page asked for and has not seen yet: `startedAt` from the `POST` answer
 * (undefined when the server answered that one was running already), and the status shown when
 * it was asked for, which cannot show it.
 */
export interface PendingStart {
  startedAt: string | undefined;
  before: BackupStatus | undefined;
}

/** Whether `status`, a newer answer than the pending start's, shows that backup. */
export function pendingSeen(pending: PendingStart, status: BackupStatus | undefined): boolean {
  if (status === undefined || status === pending.before) return false;
  return pending.startedAt === undefined || startSeen(status, pending.startedAt);
}

/** Poll quickly while a backup runs, or one was asked for and is not seen yet. */
export function pollInterval(status: BackupStatus | undefined, pending: boolean): number {
  return pending || (status !== undefined && status.running !== null) ? runningPollMs : idlePollMs;
}
