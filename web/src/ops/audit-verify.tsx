import { useState } from 'preact/hooks';
import { type AuditVerification, verifyAudit } from '../api/audit';
import type { ApiClient } from '../api/client';
import { failureText } from '../error-text';

/** "Verify chain": runs the server's verification and shows intact, or each problem by seq. */
export function AuditVerify({ api }: { api: ApiClient }) {
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<AuditVerification | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  async function verify() {
    setRunning(true);
    setError(undefined);
    try {
      setResult(await verifyAudit(api));
    } catch (failure) {
      setResult(undefined);
      setError(failureText('The chain could not be verified', failure));
    } finally {
      setRunning(false);
    }
  }

  return (
    <div class="audit-verify">
      <button
        type="button"
        class="button"
        data-testid="audit-verify"
        disabled={running}
        onClick={() => void verify()}
      >
        {running ? 'Verifying…' : 'Verify chain'}
      </button>
      <div aria-live="polite">
        {error !== undefined && (
          <p class="ops-error" data-testid="audit-verify-result" data-intact="false">
            {error}
          </p>
        )}
        {result !== undefined && <VerifyResult result={result} />}
      </div>
    </div>
  );
}

function VerifyResult({ result }: { result: AuditVerification }) {
  const facts = (
    <p class="small">
      {result.records} records, last seq {result.lastSeq}; {result.checkpoints} checkpoints
      {result.lastCheckpoint !== null && ` (last at seq ${result.lastCheckpoint.seq})`}; checkpoint
      file {result.checkpointFile}.
      {result.unanchored !== null &&
        ` Records ${result.unanchored.from}–${result.unanchored.to} are not yet covered by a signed checkpoint.`}
    </p>
  );
  if (result.intact) {
    return (
      <div
        class="verify-result verify-result--ok"
        data-testid="audit-verify-result"
        data-intact="true"
      >
        <p class="verify-headline">
          <span class="state-badge state-badge--ok">intact</span> The audit chain is intact.
        </p>
        {facts}
      </div>
    );
  }
  return (
    <div
      class="verify-result verify-result--bad"
      data-testid="audit-verify-result"
      data-intact="false"
    >
      <p class="verify-headline">
        <span class="state-badge state-badge--firing">problems</span> The audit chain has{' '}
        {result.problems.length + result.problemsOmitted} problem
        {result.problems.length + result.problemsOmitted === 1 ? '' : 's'}.
      </p>
      {facts}
      <ul class="verify-problems">
        {result.problems.map((problem, index) => (
          <li key={index} data-testid="audit-problem" data-seq={problem.seq ?? undefined}>
            <strong>{problem.seq === null ? 'Checkpoint file' : `Seq ${problem.seq}`}</strong> (
            {problem.kind}): {problem.message}
          </li>
        ))}
      </ul>
      {result.problemsOmitted > 0 && (
        <p class="small">{result.problemsOmitted} more problems are not listed.</p>
      )}
    </div>
  );
}
