import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import { type BackupRun, type BackupStatus, fetchBackups, startBackup } from '../api/backups';
import type { ApiClient } from '../api/client';
import { failureText } from '../error-text';
import { LogShippingFacts, SnapshotTable } from './backup-tables';
import {
  type PendingStart,
  idlePollMs,
  pendingSeen,
  pollInterval,
  retentionText,
  scheduleText,
} from './backup-view';
import { OpsError } from './ops-error';
import { TimeText } from './time-text';
import { formatBytes, formatCount } from './units';
import { usePolledResource } from './use-polling';
import '../styles/ops-backups.css';

/**
 * "Backups": where they go, when and how long they are kept, the running and the last run, the
 * snapshots and conversation-log shipping, with "Back up now". It polls every few seconds while a
 * backup runs, and every half minute otherwise.
 */
export function OpsBackups({ api }: { api: ApiClient }) {
  // A backup asked for here, until a poll shows it running or finished.
  const [pending, setPending] = useState<PendingStart | undefined>(undefined);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | undefined>(undefined);
  // The interval follows the answers (quick while running): state, set after each answer.
  const [pollMs, setPollMs] = useState(pollInterval(undefined, false));
  const { value: status, error } = usePolledResource<BackupStatus>(
    (signal) => fetchBackups(api, signal),
    (failure) => failureText('The backups could not be loaded', failure),
    pollMs,
    [api],
  );

  useEffect(() => {
    const seen = pending !== undefined && pendingSeen(pending, status);
    if (seen) setPending(undefined);
    setPollMs(pollInterval(status, pending !== undefined && !seen));
  }, [status, pending]);

  const running = status?.running ?? null;
  const busy = starting || running !== null || pending !== undefined;

  async function backUpNow() {
    setStarting(true);
    setStartError(undefined);
    try {
      const started = await startBackup(api);
      setPending({ startedAt: started.started_at, before: status });
    } catch (failure) {
      setStartError(failureText('The backup could not be started', failure));
      // One runs already (started elsewhere since the last poll): the next answer shows it.
      if (failure instanceof ApiError && failure.code === 'backup_running') {
        setPending({ startedAt: undefined, before: status });
      }
    } finally {
      setStarting(false);
    }
  }

  return (
    <section class="ops-section" data-testid="ops-backups" aria-labelledby="ops-backups-title">
      <div class="ops-toolbar">
        <h2 class="ops-section-title" id="ops-backups-title">
          Backups
        </h2>
        <button
          type="button"
          class="button button--primary"
          data-testid="backup-now"
          disabled={status === undefined || busy}
          onClick={() => void backUpNow()}
        >
          {busy ? 'Backing up…' : 'Back up now'}
        </button>
      </div>
      <OpsError message={error} />
      <OpsError message={startError} testId="backup-start-error" />
      {status === undefined ? (
        error === undefined && <p class="muted">Loading…</p>
      ) : (
        <>
          <dl class="backup-facts" data-testid="backup-config">
            {status.folder !== undefined && (
              <>
                <dt>Backs up</dt>
                <dd>
                  <code>{status.folder}</code>
                </dd>
              </>
            )}
            <dt>Target</dt>
            <dd>
              <code>{status.target}</code>
            </dd>
            <dt>Schedule</dt>
            <dd>{scheduleText(status.schedule)}</dd>
            <dt>Retention</dt>
            <dd>{retentionText(status.retention)}</dd>
          </dl>
          <div
            class="backup-state"
            data-testid="backup-running"
            data-running={String(running !== null)}
            aria-live="polite"
          >
            {running === null ? (
              <p class="muted small">
                No backup is running. Refreshed every {idlePollMs / 1000} seconds.
              </p>
            ) : (
              <p>
                <span class="state-badge state-badge--pending">running</span> since{' '}
                <TimeText value={running.started_at} /> (
                {running.trigger === 'admin' ? 'started by hand' : 'scheduled'}); refreshed every
                few seconds.
              </p>
            )}
          </div>
          <LastRun run={status.last_run} />
          {(status.unreadable_snapshots ?? []).length > 0 && (
            <p data-testid="unreadable-snapshots">
              <span class="state-badge state-badge--firing">damaged</span>{' '}
              {status.unreadable_snapshots!.length === 1
                ? 'A snapshot cannot be read and is not listed: '
                : `${status.unreadable_snapshots!.length} snapshots cannot be read and are not listed: `}
              {status.unreadable_snapshots!.join(', ')}. <code>assistd backup verify</code> says
              more.
            </p>
          )}
          <SnapshotTable snapshots={status.data} hasMore={status.has_more} />
          <LogShippingFacts shipping={status.log_shipping} />
        </>
      )}
    </section>
  );
}

function LastRun({ run }: { run: BackupRun | null }) {
  return (
    <>
      <h3 class="backup-subtitle" id="backup-last-run-title">
        Last run
      </h3>
      {run === null ? (
        <p class="muted small" data-testid="backup-last-run">
          No backup has run since the server started.
        </p>
      ) : (
        <dl
          class="backup-facts"
          data-testid="backup-last-run"
          data-snapshot={run.snapshot ?? undefined}
          data-failed={String(run.error !== null)}
          aria-labelledby="backup-last-run-title"
        >
          <dt>Finished</dt>
          <dd>
            <TimeText value={run.finished_at} />{' '}
            <span class="muted small">
              (started <TimeText value={run.started_at} />,{' '}
              {run.trigger === 'admin' ? 'by hand' : 'scheduled'})
            </span>
          </dd>
          <dt>Snapshot</dt>
          <dd data-testid="backup-last-snapshot">
            {run.snapshot === null ? 'none written' : <code>{run.snapshot}</code>}
          </dd>
          <dt>Files</dt>
          <dd class="ops-number">{formatCount(run.files)}</dd>
          <dt>Added</dt>
          <dd class="ops-number">{formatBytes(run.added_bytes)}</dd>
          <dt>Pruned</dt>
          <dd class="ops-number">
            {run.pruned === 1 ? '1 snapshot' : `${formatCount(run.pruned)} snapshots`}
          </dd>
          {run.skipped_count > 0 && (
            <>
              <dt>Skipped</dt>
              <dd data-testid="backup-last-skipped">
                {formatCount(run.skipped_count)} not files (links to folders, broken links,
                sockets): {run.skipped.join(', ')}
                {run.skipped_count > run.skipped.length ? ', …' : ''}
              </dd>
            </>
          )}
          {run.error !== null && (
            <>
              <dt>Error</dt>
              <dd class="ops-cell-error" data-testid="backup-last-error">
                {run.error}
              </dd>
            </>
          )}
        </dl>
      )}
    </>
  );
}
