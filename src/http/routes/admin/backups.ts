import type { FastifyInstance } from 'fastify';
import * as z from '../../../util/zod.js';
import { objectStoreLocation } from '../../../backup/object-store/open.js';
import { modelsFolder } from '../../../backup/open-repository.js';
import type { Snapshot } from '../../../backup/repository.js';
import type { BackupState } from '../../../backup/runner.js';
import { AppError } from '../../../errors.js';
import type { AppDeps } from '../../app.js';
import { addAuditDetails } from '../../plugins/audit.js';
import { parseBody } from '../../validate.js';

/** Snapshots one listing shows, newest first (`has_more` says whether older ones exist). */
export const snapshotPageSize = 100;

/** `POST /admin/backups` takes no parameters: no body, or `{}`. */
const startSchema = z.strictObject({});

const iso = (time: number) => new Date(time).toISOString();

/** One snapshot as `GET /admin/backups` lists it: `bytes` is the size of its files. */
export function snapshotJson(snapshot: Snapshot) {
  return {
    id: snapshot.id,
    created_at: iso(snapshot.time),
    files: snapshot.files.length,
    bytes: snapshot.files.reduce((sum, file) => sum + file.size, 0),
  };
}

/** The runner's state in the API's shape: times as ISO strings, names in snake case. */
export function backupStateJson(state: BackupState) {
  const { running, last } = state;
  return {
    running:
      running === null ? null : { started_at: iso(running.startedAt), trigger: running.trigger },
    last_run:
      last === null
        ? null
        : {
            started_at: iso(last.startedAt),
            finished_at: iso(last.finishedAt),
            trigger: last.trigger,
            snapshot: last.snapshot,
            files: last.files,
            added_bytes: last.addedBytes,
            pruned: last.pruned,
            // The first 100 names (a folder full of sockets would make a huge answer).
            skipped: last.skipped.slice(0, 100),
            skipped_count: last.skipped.length,
            error: last.error,
          },
  };
}

/**
 * `GET /admin/backups`: where model backups go and when (no credential: `objectStoreLocation`),
 * the retention policy, the backup running on this replica and its last one, the repository's
 * newest snapshots, and this replica's conversation-log shipping counters. A repository that
 * cannot be read answers 503 `backup_unavailable` (the reason goes to the log).
 *
 * `POST /admin/backups`: starts a backup of the model folder in the background (202), the same
 * run `backup.schedule` makes; 409 `backup_running` while one runs on this replica. A run that
 * finds another replica's backup in progress ends at once, saying so in `last_run.error`.
 *
 * Registered only with a runner (the server always has one; some app tests do not).
 */
export function backupRoutes(app: FastifyInstance, deps: AppDeps): void {
  const runner = deps.backups;
  if (runner === undefined) return;
  const { config } = deps;

  app.get('/admin/backups', async (request) => {
    // The state first: a run that finishes meanwhile then shows as a snapshot, not as lost.
    const state = backupStateJson(runner.state());
    const listed = await runner.snapshots(snapshotPageSize).catch((error: unknown) => {
      request.log.warn({ err: error }, 'the backup repository cannot be read');
      throw new AppError('backup_unavailable');
    });
    const shipper = deps.logShipper;
    return {
      object: 'list',
      target: objectStoreLocation(config),
      folder: modelsFolder(config),
      schedule: config.backup.schedule ?? null,
      retention: {
        keep_daily: config.backup.keep_daily,
        keep_weekly: config.backup.keep_weekly,
        keep_monthly: config.backup.keep_monthly,
      },
      ...state,
      data: listed.snapshots.map(snapshotJson),
      has_more: listed.more,
      // Damaged snapshots among the newest, left out of `data` (`backup verify` says more).
      unreadable_snapshots: listed.unreadable,
      log_shipping: {
        enabled: config.log_shipping.enabled,
        shipped_segments: shipper?.shipped ?? 0,
        last_lag_ms: shipper?.lastLagMs ?? null,
        failures: shipper?.failures ?? 0,
      },
    };
  });

  app.post('/admin/backups', (request, reply) => {
    if (request.body !== undefined) parseBody(startSchema, request.body);
    addAuditDetails(request, { trigger: 'admin' });
    const result = runner.start('admin');
    if (!result.started) throw new AppError('backup_running');
    reply.code(202);
    return { status: 'started', started_at: iso(result.startedAt) };
  });
}
