import type { ApiClient } from '../api/client';
import { type SigningKeyList, fetchKeys } from '../api/keys';
import { failureText } from '../error-text';
import { rotationText, shortKid } from './key-rotation';
import { OpsError } from './ops-error';
import { OpsTable } from './ops-table';
import { TimeText } from './time-text';
import { usePolledResource } from './use-polling';

const knownStatuses = new Set(['active', 'verifying-only', 'retired']);

/** The key's status as text in a coloured badge: the colour repeats the word, never replaces it. */
export function KeyStatusBadge({ status }: { status: string }) {
  const kind = knownStatuses.has(status) ? status : 'unknown';
  return (
    <span class={`state-badge key-badge--${kind}`} data-status={status}>
      {status}
    </span>
  );
}

/** A time cell: the date, or "–" when there is none. */
function TimeCell({ value }: { value: string | null }) {
  if (value === null) return <td>–</td>;
  return (
    <td>
      <TimeText value={value} />
    </td>
  );
}

export function OpsKeys({ api }: { api: ApiClient }) {
  const { value: keys, error } = usePolledResource<SigningKeyList>(
    (signal) => fetchKeys(api, signal),
    (failure) => failureText('The signing keys could not be loaded', failure),
    60_000,
    [api],
  );
  const now = Date.now();

  return (
    <section class="ops-section" data-testid="ops-keys" aria-labelledby="ops-keys-title">
      <h2 class="ops-section-title" id="ops-keys-title">
        Signing keys
      </h2>
      <OpsError message={error} />
      {keys === undefined ? (
        error === undefined && <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="muted small">
            Generated keys rotate every {keys.rotation_days} days. Newest first; refreshed every
            minute.
          </p>
          <OpsTable
            labelledBy="ops-keys-caption"
            testId="keys-table"
            captionId="ops-keys-caption"
            caption="Token signing keys, newest first"
            columns={[
              'Key ID',
              'Source',
              'Status',
              'Created',
              'Signs until',
              'Verifies until',
              'Retired',
            ]}
            empty={keys.data.length === 0 ? 'No signing keys.' : undefined}
          >
            {keys.data.map((key) => {
              const rotation = rotationText(key, now);
              return (
                <tr key={key.kid} data-testid="key-row" data-kid={key.kid} data-status={key.status}>
                  <th scope="row">
                    <code class="key-kid" title={key.kid}>
                      <span aria-hidden="true">{shortKid(key.kid)}</span>
                      <span class="visually-hidden">{key.kid}</span>
                    </code>
                  </th>
                  <td>{key.source}</td>
                  <td>
                    <KeyStatusBadge status={key.status} />
                  </td>
                  <TimeCell value={key.created_at} />
                  <td>
                    {key.signs_until === null ? '–' : <TimeText value={key.signs_until} />}
                    {rotation !== undefined && (
                      <span
                        class={`small ops-block ${rotation === 'overdue' ? 'key-overdue' : 'muted'}`}
                        data-testid="key-rotation"
                      >
                        {rotation}
                      </span>
                    )}
                  </td>
                  {key.expires_at === null && key.status !== 'retired' ? (
                    <td class="muted">until retired</td>
                  ) : (
                    <TimeCell value={key.expires_at} />
                  )}
                  <TimeCell value={key.retired_at} />
                </tr>
              );
            })}
          </OpsTable>
        </>
      )}
    </section>
  );
}
