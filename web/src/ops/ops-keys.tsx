import type { ApiClient } from '../api/client';
import { type SigningKeyList, fetchKeys } from '../api/keys';
import { failureText } from '../error-text';
import { formatTimestamp, isoOf } from './format';
import { rotationText, shortKid } from './key-rotation';
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
      <time dateTime={isoOf(value)}>{formatTimestamp(value)}</time>
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
      {error !== undefined && (
        <p class="ops-error" role="alert">
          {error}
        </p>
      )}
      {keys === undefined ? (
        error === undefined && <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="muted small">
            Generated keys rotate every {keys.rotation_days} days. Newest first; refreshed every
            minute.
          </p>
          <div class="table-scroll" tabIndex={0} aria-labelledby="ops-keys-caption">
            <table class="ops-table" data-testid="keys-table">
              <caption id="ops-keys-caption" class="visually-hidden">
                Token signing keys, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Key ID</th>
                  <th scope="col">Source</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Signs until</th>
                  <th scope="col">Verifies until</th>
                  <th scope="col">Retired</th>
                </tr>
              </thead>
              <tbody>
                {keys.data.length === 0 && (
                  <tr>
                    <td colSpan={7} class="muted">
                      No signing keys.
                    </td>
                  </tr>
                )}
                {keys.data.map((key) => {
                  const rotation = rotationText(key, now);
                  return (
                    <tr
                      key={key.kid}
                      data-testid="key-row"
                      data-kid={key.kid}
                      data-status={key.status}
                    >
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
                        {key.signs_until === null ? (
                          '–'
                        ) : (
                          <time dateTime={isoOf(key.signs_until)}>
                            {formatTimestamp(key.signs_until)}
                          </time>
                        )}
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
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
