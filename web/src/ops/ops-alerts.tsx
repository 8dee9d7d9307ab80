import { type AlertsSnapshot, fetchAlerts } from '../api/alerts';
import type { ApiClient } from '../api/client';
import { failureText } from '../error-text';
import { formatValue } from './chart-data';
import { OpsError } from './ops-error';
import { OpsTable } from './ops-table';
import { TimeText } from './time-text';
import { usePolledResource } from './use-polling';

const knownStates = new Set(['inactive', 'pending', 'firing', 'resolved']);

/** The state as text in a coloured badge: the colour repeats the word, it never replaces it. */
export function StateBadge({ state }: { state: string }) {
  const kind = knownStates.has(state) ? state : 'unknown';
  return (
    <span class={`state-badge state-badge--${kind}`} data-state={state}>
      {state}
    </span>
  );
}

export function OpsAlerts({ api }: { api: ApiClient }) {
  const { value: snapshot, error } = usePolledResource<AlertsSnapshot>(
    (signal) => fetchAlerts(api, signal),
    (failure) => failureText('The alerts could not be loaded', failure),
    10_000,
    [api],
  );

  return (
    <section class="ops-section" data-testid="ops-alerts" aria-labelledby="ops-alerts-title">
      <h2 class="ops-section-title" id="ops-alerts-title">
        Alerts
      </h2>
      <OpsError message={error} />
      {snapshot === undefined ? (
        error === undefined && <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="muted small">
            Rules from {snapshot.source}
            {snapshot.running ? '' : ' — evaluation is stopped'}. Refreshed every 10 seconds.
          </p>
          <OpsTable
            labelledBy="ops-alerts-caption"
            testId="alerts-table"
            captionId="ops-alerts-caption"
            caption="Alert rules and their states"
            columns={['Rule', 'State', 'Value', 'Condition', 'Threshold', 'Severity', 'Since']}
            empty={snapshot.rules.length === 0 ? 'No alert rules.' : undefined}
          >
            {snapshot.rules.map(({ rule, state }) => (
              <tr key={rule.name} data-testid="alert-row" data-rule={rule.name}>
                <th scope="row" class="ops-cell-wrap">
                  <span class="ops-rule-name">{rule.name}</span>
                  {rule.summary !== undefined && (
                    <span class="muted small ops-block">{rule.summary}</span>
                  )}
                  {state.error !== undefined && (
                    <span class="ops-cell-error small ops-block">{state.error}</span>
                  )}
                </th>
                <td>
                  <StateBadge state={state.state} />
                </td>
                <td class="ops-number">
                  {state.value === undefined ? 'no data' : formatValue(state.value)}
                </td>
                <td>
                  <code>{rule.condition}</code>
                </td>
                <td class="ops-number">
                  {rule.comparison} {formatValue(rule.threshold)}
                </td>
                <td>{rule.severity}</td>
                <td>
                  <TimeText value={state.since} />
                </td>
              </tr>
            ))}
          </OpsTable>
        </>
      )}
    </section>
  );
}
