import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { CronSchedule } from '../util/cron.js';
import type { BackupRunner } from './runner.js';

/**
 * Runs `backup.schedule`: at each time it names, the runner snapshots the model folder and prunes
 * to the retention policy (one replica per run, see BackupRunner). A run that fails is logged and
 * audited by the runner, and the next one is scheduled as usual; one still running at the next
 * time (perhaps started by hand) makes that time skip. Returns the stop function.
 */
export function startBackupSchedule(options: {
  config: Readonly<Config>;
  logger: Logger;
  runner: Pick<BackupRunner, 'start' | 'idle'>;
}): (() => Promise<void>) | undefined {
  const { config, logger, runner } = options;
  const expression = config.backup.schedule;
  if (expression === undefined) return undefined;
  const schedule = new CronSchedule(expression);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const arm = () => {
    if (stopped) return;
    const delay = Math.max(0, schedule.next(Date.now()) - Date.now());
    // setTimeout holds at most 2^31 - 1 ms (24.8 days): longer waits re-arm on the way.
    timer = setTimeout(
      () => {
        if (delay > 2 ** 31 - 1) return arm();
        if (!runner.start('schedule').started) {
          logger.warn('scheduled model backup skipped: a backup is still running');
        }
        // The next time is computed once this run is over, as before the runner existed.
        running = runner.idle().finally(() => {
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
