import type { Logger } from 'pino';
import type { SharedState } from '../cache/shared.js';
import type { Config } from '../config/schema.js';
import { serverEntry, type AdminEvent } from '../security/audit/admin-event.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import { scheduledBackupEvent } from '../security/audit/server-events.js';
import type { Clock } from '../util/ids.js';
import { NotAFolderError, backupFolder, existingFolder, pruneRepository } from './models.js';
import { modelsFolder, openRepository, type OpenedRepository } from './open-repository.js';
import { RepositoryLockedError } from './repository-lock.js';
import type { Snapshot } from './repository.js';
import { SnapshotCatalog } from './snapshot-catalog.js';

/** Who started a backup: `backup.schedule`, or an administrator (`POST /admin/backups`). */
export type BackupTrigger = 'schedule' | 'admin';

/** What one successful backup did. */
export interface BackupOutcome {
  snapshot: string;
  files: number;
  /** Bytes of new chunks uploaded (the rest were stored already). */
  addedBytes: number;
  /** Snapshots the retention policy removed after it. */
  pruned: number;
  /** What the folder holds that was not backed up (links to folders, broken links, sockets). */
  skipped: string[];
}

/** A backup in progress on this replica. Times are milliseconds since the epoch. */
export interface RunningBackup {
  startedAt: number;
  trigger: BackupTrigger;
}

/** A finished backup: what it made, or why it made nothing (`error`, a sentence for people). */
export interface FinishedBackup extends RunningBackup {
  finishedAt: number;
  snapshot: string | null;
  files: number;
  addedBytes: number;
  pruned: number;
  skipped: string[];
  error: string | null;
}

export interface BackupState {
  running: RunningBackup | null;
  /** The last backup this replica ran since it started; null before the first. */
  last: FinishedBackup | null;
}

export type BackupStart =
  { started: true; startedAt: number } | { started: false; reason: 'running' };

/** `last.error` of a run that found the lock held by another replica. */
export const anotherReplicaRunning = 'another replica is running a backup';

/** One lock for every replica's backups, a lease renewed while the backup runs. */
const lockName = 'backup-models';
const lockLeaseMs = 60_000;

export interface BackupRunnerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Its `exclusive` lock lets one replica run each backup (Redis; in process without it). */
  shared: Pick<SharedState, 'exclusive'>;
  /** Every finished backup is recorded (`create:backup`, source `server`). */
  audit: Pick<AuditLog, 'record'>;
  /** Default `Date.now`. */
  clock?: Clock;
  /** Opens the backup repository (default `openRepository(config, logger)`). */
  openRepository?: () => Promise<OpenedRepository>;
  /**
   * The backup itself. Default: snapshot the model folder (`modelsFolder`) into the repository,
   * then prune it to `backup.keep_*`. Tests replace it with a slow or failing one.
   */
  backup?: () => Promise<BackupOutcome>;
}

/**
 * The server's model backups, by schedule (`backup/scheduler.ts`) and by hand (`POST
 * /admin/backups`), on one code path: at most one runs on a replica at a time, and one replica at
 * a time across replicas (`shared.exclusive`). A run goes on in the background; its outcome is
 * logged, audited and kept as `state().last`. Also lists the repository's snapshots.
 */
export class BackupRunner {
  private readonly clock: Clock;
  private readonly backup: () => Promise<BackupOutcome>;
  private readonly catalog: SnapshotCatalog;
  private current: { run: RunningBackup; done: Promise<void> } | undefined;
  private last: FinishedBackup | undefined;

  constructor(private readonly options: BackupRunnerOptions) {
    const { config, logger } = options;
    this.clock = options.clock ?? Date.now;
    const open = options.openRepository ?? (() => openRepository(config, logger));
    this.backup = options.backup ?? (() => backupModels(config, open));
    this.catalog = new SnapshotCatalog(
      options.openRepository ?? (() => openRepository(config, logger, { readOnly: true })),
    );
  }

  /** Starts a backup in the background, unless one is running on this replica. Never throws. */
  start(trigger: BackupTrigger): BackupStart {
    if (this.current) return { started: false, reason: 'running' };
    const run: RunningBackup = { startedAt: this.clock(), trigger };
    const done = this.execute(run)
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'model backup crashed'))
      .finally(() => {
        this.current = undefined;
      });
    this.current = { run, done };
    return { started: true, startedAt: run.startedAt };
  }

  state(): BackupState {
    return { running: this.current ? { ...this.current.run } : null, last: this.last ?? null };
  }

  /** Resolves once no backup runs on this replica (at once when none does). */
  async idle(): Promise<void> {
    await this.current?.done;
  }

  /** The newest `limit` snapshots of the repository; rejects when it cannot be read. */
  snapshots(
    limit: number,
  ): Promise<{ snapshots: Snapshot[]; more: boolean; unreadable: string[] }> {
    return this.catalog.newest(limit);
  }

  /** Waits for a running backup, then closes the repository the listings use. */
  async close(): Promise<void> {
    await this.idle();
    await this.catalog.close();
  }

  private async execute(run: RunningBackup): Promise<void> {
    const { logger, audit, config } = this.options;
    const label = run.trigger === 'schedule' ? 'scheduled' : 'requested';
    /** Keeps the finished run as `last`; returns when it finished. */
    const finish = (fields: Omit<FinishedBackup, keyof RunningBackup | 'finishedAt'>) => {
      const finishedAt = this.clock();
      this.last = { ...run, finishedAt, ...fields };
      return finishedAt;
    };
    try {
      const outcome = await this.options.shared.exclusive(lockName, lockLeaseMs, this.backup);
      if (outcome === undefined) {
        logger.info(`${label} model backup: another replica is running one`);
        finish({
          snapshot: null,
          files: 0,
          addedBytes: 0,
          pruned: 0,
          skipped: [],
          error: anotherReplicaRunning,
        });
        return;
      }
      logger.info(
        {
          trigger: run.trigger,
          snapshot: outcome.snapshot,
          files: outcome.files,
          added_bytes: outcome.addedBytes,
          pruned: outcome.pruned,
          ...(outcome.skipped.length > 0 ? { skipped: outcome.skipped } : {}),
        },
        outcome.skipped.length > 0
          ? `${label} model backup done; ${outcome.skipped.length} entries skipped (not files)`
          : `${label} model backup done`,
      );
      const finishedAt = finish({ ...outcome, error: null });
      audit.record(
        serverEntry(backupEvent(run.trigger, outcome.snapshot, outcome.pruned, null), finishedAt),
      );
    } catch (error) {
      logger.error({ err: error, trigger: run.trigger }, `${label} model backup failed`);
      const finishedAt = finish({
        snapshot: null,
        files: 0,
        addedBytes: 0,
        pruned: 0,
        skipped: [],
        error: failureText(error, config),
      });
      audit.record(serverEntry(backupEvent(run.trigger, null, 0, 'backup_failed'), finishedAt));
    }
  }
}

/** Snapshots the model folder, then prunes to the retention policy (one repository open). */
async function backupModels(
  config: Readonly<Config>,
  open: () => Promise<OpenedRepository>,
): Promise<BackupOutcome> {
  const folder = await existingFolder(modelsFolder(config));
  const opened = await open();
  try {
    const result = await backupFolder(opened.repository, folder);
    const pruned = await pruneRepository(opened.repository, {
      keepDaily: config.backup.keep_daily,
      keepWeekly: config.backup.keep_weekly,
      keepMonthly: config.backup.keep_monthly,
    });
    return {
      snapshot: result.snapshot.id,
      files: result.files,
      addedBytes: result.addedBytes,
      pruned: pruned.removedSnapshots.length,
      skipped: result.skipped,
    };
  } finally {
    await opened.close();
  }
}

/**
 * The scheduled-backup record; a run an administrator started says `operation: "requested"`
 * (its request is recorded too, by the HTTP audit hook, when it starts).
 */
function backupEvent(
  trigger: BackupTrigger,
  snapshot: string | null,
  pruned: number,
  error: string | null,
): AdminEvent {
  const event = scheduledBackupEvent(snapshot, pruned, error);
  if (trigger === 'schedule') return event;
  return { ...event, details: { ...event.details, operation: 'requested' } };
}

/**
 * Why a backup failed, for administrators: the causes they can act on are named, anything else
 * (object-store and crypto errors, which may carry internal detail) points to the server log.
 */
function failureText(error: unknown, config: Readonly<Config>): string {
  if (error instanceof RepositoryLockedError) return error.message;
  if (error instanceof NotAFolderError) {
    return `the model folder ${modelsFolder(config)} does not exist or is not a folder (backup.models_folder)`;
  }
  return 'the backup failed; the server log has the reason';
}
