import type { ApiClient } from './client';

/** What started a backup run. */
export type BackupTrigger = 'schedule' | 'admin';

/** How many snapshots retention keeps per period. */
export interface BackupRetention {
  keep_daily: number;
  keep_weekly: number;
  keep_monthly: number;
}

/** The finished run; times are ISO 8601, sizes bytes. */
export interface BackupRun {
  started_at: string;
  finished_at: string;
  trigger: BackupTrigger;
  /** The snapshot it wrote; null when it failed before writing one. */
  snapshot: string | null;
  files: number;
  /** Bytes new to the repository (deduplicated data is not counted again). */
  added_bytes: number;
  /** Snapshots retention removed after the run. */
  pruned: number;
  /** Entries of the folder not backed up (links to folders, broken links, sockets); first 100. */
  skipped: string[];
  skipped_count: number;
  error: string | null;
}

/** One snapshot in the repository. */
export interface BackupSnapshot {
  id: string;
  created_at: string;
  files: number;
  bytes: number;
}

/** Conversation-log shipping to the backup target. */
export interface LogShipping {
  enabled: boolean;
  shipped_segments: number;
  /** Milliseconds the last shipped segment trailed the log; null before the first. */
  last_lag_ms: number | null;
  failures: number;
}

/** `GET /admin/backups`. */
export interface BackupStatus {
  object: 'list';
  /** Where backups go (a folder or an object-store URL, without credentials). */
  target: string;
  /** The folder that is backed up (the models). */
  folder?: string;
  /** A cron expression in UTC; null: only on demand. */
  schedule: string | null;
  retention: BackupRetention;
  running: null | { started_at: string; trigger: BackupTrigger };
  last_run: BackupRun | null;
  /** Snapshots, newest first. */
  data: BackupSnapshot[];
  /** More snapshots exist than listed. */
  has_more: boolean;
  /** Ids of damaged snapshots among the newest, left out of `data` (absent from older servers). */
  unreadable_snapshots?: string[];
  log_shipping: LogShipping;
}

export async function fetchBackups(api: ApiClient, signal?: AbortSignal): Promise<BackupStatus> {
  const body = (await api.json('/admin/backups', { signal })) as BackupStatus;
  return { ...body, data: Array.isArray(body.data) ? body.data : [] };
}

/** `POST /admin/backups`: 202 once the run has started; 409 `backup_running` when one runs. */
export async function startBackup(
  api: ApiClient,
): Promise<{ status: 'started'; started_at: string }> {
  return (await api.json('/admin/backups', { method: 'POST', body: {} })) as {
    status: 'started';
    started_at: string;
  };
}
