import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbortError } from '../api/api-error';
import type { ApiClient } from '../api/client';
import { type SimulationResult, simulatePolicy } from '../api/policy-simulate';
import { failureText } from '../error-text';
import { OpsError } from './ops-error';
import { type SimulatorForm, simulationRequest } from './simulator-form';

const emptyForm: SimulatorForm = { principal: '', groups: '', action: '', resource: '' };

/**
 * "Access simulator": asks the server how its policies would decide one request (principal,
 * groups, action, resource) and shows the answer, the deciding statement and the explanation.
 * Nothing is performed; the server records the simulation in the audit log.
 */
export function OpsSimulator({ api }: { api: ApiClient }) {
  const [form, setForm] = useState<SimulatorForm>(emptyForm);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<SimulationResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const controller = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => controller.current?.abort(), []);
  const request = simulationRequest(form);

  async function simulate(event: Event) {
    event.preventDefault();
    if (request === undefined) {
      setResult(undefined);
      setError('Principal, action and resource are required.');
      return;
    }
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setRunning(true);
    setResult(undefined);
    setError(undefined);
    try {
      const answer = await simulatePolicy(api, request, current.signal);
      if (controller.current === current) setResult(answer);
    } catch (failure) {
      if (isAbortError(failure)) return;
      setError(failureText('The request could not be simulated', failure));
    } finally {
      if (controller.current === current) setRunning(false);
    }
  }

  return (
    <section class="ops-section" data-testid="ops-simulator" aria-labelledby="ops-simulator-title">
      <h2 class="ops-section-title" id="ops-simulator-title">
        Access simulator
      </h2>
      <p class="muted small">
        How the server’s policies would decide a request. Nothing is performed; the simulation is
        recorded in the audit log.
      </p>
      <form
        class="sim-form"
        onSubmit={(event) => void simulate(event)}
        aria-label="Request to simulate"
      >
        <label class="ops-field">
          <span>Principal</span>
          <input
            class="text-input text-input--small"
            data-testid="sim-principal"
            placeholder="e.g. alice@example.com"
            required
            maxLength={256}
            value={form.principal}
            onInput={(event) => setForm({ ...form, principal: event.currentTarget.value })}
          />
        </label>
        <label class="ops-field">
          <span>Groups (comma-separated, optional)</span>
          <input
            class="text-input text-input--small"
            data-testid="sim-groups"
            placeholder="e.g. ops, admins"
            maxLength={1024}
            value={form.groups}
            onInput={(event) => setForm({ ...form, groups: event.currentTarget.value })}
          />
        </label>
        <label class="ops-field">
          <span>Action</span>
          <input
            class="text-input text-input--small"
            data-testid="sim-action"
            placeholder="e.g. create:chat"
            required
            maxLength={128}
            value={form.action}
            onInput={(event) => setForm({ ...form, action: event.currentTarget.value })}
          />
        </label>
        <label class="ops-field">
          <span>Resource</span>
          <input
            class="text-input text-input--small"
            data-testid="sim-resource"
            placeholder="e.g. /v1/chat"
            required
            maxLength={1024}
            value={form.resource}
            onInput={(event) => setForm({ ...form, resource: event.currentTarget.value })}
          />
        </label>
        <div class="sim-actions">
          <button
            type="submit"
            class="button button--primary"
            data-testid="sim-submit"
            disabled={running}
          >
            {running ? 'Simulating…' : 'Simulate'}
          </button>
        </div>
      </form>
      <div
        class="sim-result-area"
        data-testid="sim-result"
        aria-live="polite"
        data-allowed={result === undefined ? undefined : String(result.allowed)}
        data-reason={result?.reason}
      >
        <OpsError message={error} />
        {result !== undefined && <SimulationAnswer result={result} />}
      </div>
    </section>
  );
}

function SimulationAnswer({ result }: { result: SimulationResult }) {
  const statement = result.statement;
  return (
    <div class={`verify-result ${result.allowed ? 'verify-result--ok' : 'verify-result--bad'}`}>
      <p class="verify-headline sim-verdict">
        <span class={`state-badge ${result.allowed ? 'state-badge--ok' : 'state-badge--firing'}`}>
          {result.allowed ? 'Allowed' : 'Denied'}
        </span>{' '}
        <span class="muted small">({result.reason})</span>
      </p>
      {statement === null ? (
        <p class="small" data-testid="sim-statement">
          No statement matched: denied by default.
        </p>
      ) : (
        <dl class="sim-statement small" data-testid="sim-statement">
          <dt>Statement</dt>
          <dd>
            <code>{statement.name}</code>
          </dd>
          <dt>Effect</dt>
          <dd>{statement.effect}</dd>
          <dt>Defined at</dt>
          <dd>
            <code>
              {statement.source}:{statement.line}
            </code>
          </dd>
          {statement.description !== undefined && statement.description !== '' && (
            <>
              <dt>Description</dt>
              <dd>{statement.description}</dd>
            </>
          )}
        </dl>
      )}
      <p class="small sim-explanation" data-testid="sim-explanation">
        {result.explanation}
      </p>
    </div>
  );
}
