import type { BackupSnapshot, LogShipping } from '../api/backups';
import { newestFirst } from './backup-view';
import { OpsTable } from './ops-table';
import { TimeText } from './time-text';
import { formatBytes, formatCount, formatDelay } from './units';

/** The repository's snapshots, newest first, sizes human-readable. */
export function SnapshotTable(props: { snapshots: readonly BackupSnapshot[]; hasMore: boolean }) {
  const snapshots = newestFirst(props.snapshots);
  return (
    <>
      <h3 class="backup-subtitle" id="backup-snapshots-title">
        Snapshots
      </h3>
      <OpsTable
        labelledBy="backup-snapshots-title"
        testId="backup-snapshots"
        caption="Backup snapshots, newest first"
        columns={['Snapshot', 'Created', 'Files', 'Size']}
        empty={snapshots.length === 0 ? 'No snapshots yet.' : undefined}
      >
        {snapshots.map((snapshot) => (
          <tr key={snapshot.id} data-testid="backup-snapshot-row" data-id={snapshot.id}>
            <th scope="row">
              <code>{snapshot.id}</code>
            </th>
            <td>
              <TimeText value={snapshot.created_at} />
            </td>
            <td class="ops-number">{formatCount(snapshot.files)}</td>
            <td class="ops-number" title={`${formatCount(snapshot.bytes)} bytes`}>
              {formatBytes(snapshot.bytes)}
            </td>
          </tr>
        ))}
      </OpsTable>
      {props.hasMore && (
        <p class="muted small">Only the newest snapshots are listed; the repository has more.</p>
      )}
    </>
  );
}

/** Conversation-log shipping: on or off, how far behind, how much, and failures (highlighted). */
export function LogShippingFacts({ shipping }: { shipping: LogShipping }) {
  return (
    <>
      <h3 class="backup-subtitle" id="backup-shipping-title">
        Log shipping
      </h3>
      <dl
        class="backup-facts"
        data-testid="backup-log-shipping"
        aria-labelledby="backup-shipping-title"
      >
        <dt>Enabled</dt>
        <dd data-testid="backup-shipping-enabled">
          {shipping.enabled ? 'yes' : 'no: conversation logs are not shipped'}
        </dd>
        {shipping.enabled && (
          <>
            <dt>Last lag</dt>
            <dd class="ops-number" data-testid="backup-shipping-lag">
              {shipping.last_lag_ms === null
                ? 'nothing shipped yet'
                : formatDelay(shipping.last_lag_ms)}
            </dd>
          </>
        )}
        <dt>Segments shipped</dt>
        <dd class="ops-number">{formatCount(shipping.shipped_segments)}</dd>
        <dt>Failures</dt>
        <dd
          class={`ops-number ${shipping.failures > 0 ? 'backup-failures' : ''}`}
          data-testid="backup-shipping-failures"
          data-failures={shipping.failures}
        >
          {formatCount(shipping.failures)}
          {shipping.failures > 0 && ' — check the server log'}
        </dd>
      </dl>
    </>
  );
}
