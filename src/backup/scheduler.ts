import type { Logger } from 'pino';
import type { SharedState } from '../cache/shared.js';
import type { Config } from '../config/schema.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import { scheduledBackupEvent } from '../security/audit/server-events.js';
import { serverEntry } from '../security/audit/admin-event.js';
import { CronSchedule } from '../util/cron.js';
import { backupFolder, pruneRepository } from './models.js';
import { modelsFolder, openRepository } from './open-repository.js';

/**
 * Runs `backup.schedule`: at each time it names, one replica (Redis lock) snapshots the model
 * folder and prunes to the retention policy. A run that fails is logged and audited, and the
 * next one is scheduled as usual. Returns the stop function.
 */
export function startBackupSchedule(options: {
  config: Readonly<Config>;
  logger: Logger;
  shared: SharedState;
  audit: AuditLog;
}): (() => Promise<void>) | undefined {
  const { config, logger, shared, audit } = options;
  const expression = config.backup.schedule;
  if (expression === undefined) return undefined;
  const schedule = new CronSchedule(expression);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const runOnce = async () => {
    const folder = modelsFolder(config);
    const ran = await shared.exclusive('backup-models', 6 * 3_600_000, async () => {
      const opened = await openRepository(config, logger);
      try {
        const result = await backupFolder(opened.repository, folder);
        const pruned = await pruneRepository(opened.repository, {
          keepDaily: config.backup.keep_daily,
          keepWeekly: config.backup.keep_weekly,
          keepMonthly: config.backup.keep_monthly,
        });
        logger.info(
          {
            snapshot: result.snapshot.id,
            files: result.files,
            added_bytes: result.addedBytes,
            pruned: pruned.removedSnapshots.length,
          },
          'scheduled model backup done',
        );
        audit.record(
          serverEntry(
            scheduledBackupEvent(result.snapshot.id, pruned.removedSnapshots.length, null),
            Date.now(),
          ),
        );
      } finally {
        await opened.close();
      }
    });
    if (ran === undefined) logger.info('scheduled model backup: another replica is running it');
  };

  const arm = () => {
    if (stopped) return;
    const delay = Math.max(0, schedule.next(Date.now()) - Date.now());
    // setTimeout holds at most 2^31 - 1 ms (24.8 days): longer waits re-arm on the way.
    timer = setTimeout(
      () => {
        if (delay > 2 ** 31 - 1) return arm();
        running = runOnce()
          .catch((error: unknown) => {
            logger.error({ err: error }, 'scheduled model backup failed');
            audit.record(serverEntry(scheduledBackupEvent(null, 0, 'backup_failed'), Date.now()));
          })
          .finally(() => {
            running = undefined;
            arm();
          });
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    timer.unref();
  };
  arm();
  logger.info(
    { schedule: expression, next: new Date(schedule.next(Date.now())).toISOString() },
    'model backups scheduled',
  );
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
