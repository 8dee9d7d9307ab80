import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbortError } from '../api/api-error';
import { type AuditFilters, type AuditRecord, auditFetcher } from '../api/audit';
import type { ApiClient } from '../api/client';
import { failureText } from '../error-text';
import { findHead, loadOlder } from './audit-paging';
import { AuditVerify } from './audit-verify';
import { formatTimestamp, isoOf } from './format';

const pageSize = 50;

interface Listing {
  records: AuditRecord[];
  /** Records below this seq are still to be loaded; 1: the start of the log was reached. */
  before: number;
}

/** The form's text; `status` is validated (100–599) before it is sent. */
interface FilterForm {
  principal: string;
  action: string;
  status: string;
}

const emptyForm: FilterForm = { principal: '', action: '', status: '' };

function filtersOf(form: FilterForm): AuditFilters | undefined {
  const status = form.status.trim();
  if (status !== '' && !/^[1-5]\d\d$/.test(status)) return undefined;
  return {
    principal: form.principal.trim() || undefined,
    action: form.action.trim() || undefined,
    status: status === '' ? undefined : Number(status),
  };
}

export function OpsAudit({ api }: { api: ApiClient }) {
  const [form, setForm] = useState<FilterForm>(emptyForm);
  const [filters, setFilters] = useState<AuditFilters>({});
  const [listing, setListing] = useState<Listing | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [reloads, setReloads] = useState(0);
  const controller = useRef<AbortController | undefined>(undefined);
  const statusInvalid = filtersOf(form) === undefined;

  function describe(failure: unknown): string {
    return failureText('The audit log could not be loaded', failure);
  }

  // The newest page, again whenever the filters change or Refresh is pressed.
  useEffect(() => {
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    const fetchPage = auditFetcher(api, current.signal);
    setLoading(true);
    setError(undefined);
    (async () => {
      const head = await findHead(fetchPage);
      return loadOlder(fetchPage, filters, head + 1, { want: pageSize });
    })().then(
      (page) => {
        setListing(page);
        setLoading(false);
      },
      (failure: unknown) => {
        if (isAbortError(failure)) return;
        setListing(undefined);
        setError(describe(failure));
        setLoading(false);
      },
    );
    return () => current.abort();
  }, [api, filters, reloads]);

  async function more() {
    if (listing === undefined) return;
    const current = new AbortController();
    controller.current = current;
    setLoading(true);
    setError(undefined);
    try {
      const page = await loadOlder(auditFetcher(api, current.signal), filters, listing.before, {
        want: pageSize,
      });
      setListing({ records: [...listing.records, ...page.records], before: page.before });
    } catch (failure) {
      if (!isAbortError(failure)) setError(describe(failure));
    } finally {
      if (controller.current === current) setLoading(false);
    }
  }

  function apply(event: Event) {
    event.preventDefault();
    const next = filtersOf(form);
    if (next === undefined) return;
    setListing(undefined);
    setFilters(next);
    setReloads((count) => count + 1);
  }

  const filtered =
    filters.principal !== undefined || filters.action !== undefined || filters.status !== undefined;

  return (
    <section class="ops-section" data-testid="ops-audit" aria-labelledby="ops-audit-title">
      <div class="ops-toolbar">
        <h2 class="ops-section-title" id="ops-audit-title">
          Audit log
        </h2>
        <AuditVerify api={api} />
      </div>
      <form class="audit-filters" onSubmit={apply} aria-label="Audit filters">
        <label class="ops-field">
          <span>Principal</span>
          <input
            class="text-input text-input--small"
            data-testid="audit-filter-principal"
            value={form.principal}
            maxLength={256}
            onInput={(event) => setForm({ ...form, principal: event.currentTarget.value })}
          />
        </label>
        <label class="ops-field">
          <span>Action</span>
          <input
            class="text-input text-input--small"
            data-testid="audit-filter-action"
            placeholder="e.g. chat:create"
            value={form.action}
            maxLength={128}
            onInput={(event) => setForm({ ...form, action: event.currentTarget.value })}
          />
        </label>
        <label class="ops-field ops-field--narrow">
          <span>HTTP status</span>
          <input
            class="text-input text-input--small"
            data-testid="audit-filter-status"
            inputMode="numeric"
            placeholder="e.g. 403"
            value={form.status}
            aria-invalid={statusInvalid}
            aria-describedby={statusInvalid ? 'audit-status-error' : undefined}
            onInput={(event) => setForm({ ...form, status: event.currentTarget.value })}
          />
        </label>
        <div class="audit-filter-actions">
          <button
            type="submit"
            class="button button--primary"
            data-testid="audit-apply"
            disabled={statusInvalid}
          >
            Apply
          </button>
          <button
            type="button"
            class="button"
            onClick={() => {
              setForm(emptyForm);
              setListing(undefined);
              setFilters({});
              setReloads((count) => count + 1);
            }}
          >
            Clear
          </button>
          <button
            type="button"
            class="button button--quiet"
            data-testid="audit-refresh"
            disabled={loading}
            onClick={() => setReloads((count) => count + 1)}
          >
            Refresh
          </button>
        </div>
        {statusInvalid && (
          <p class="ops-error small" id="audit-status-error">
            The status is a number from 100 to 599.
          </p>
        )}
      </form>
      {error !== undefined && (
        <p class="ops-error" role="alert">
          {error}
        </p>
      )}
      <div class="table-scroll" tabIndex={0} aria-labelledby="ops-audit-caption">
        <table class="ops-table" data-testid="audit-table" aria-busy={loading}>
          <caption id="ops-audit-caption" class="visually-hidden">
            Audit records, newest first{filtered ? ', filtered' : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Seq</th>
              <th scope="col">Time</th>
              <th scope="col">Principal</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">Decision</th>
              <th scope="col">Status</th>
              <th scope="col">Latency (ms)</th>
            </tr>
          </thead>
          <tbody>
            {listing !== undefined && listing.records.length === 0 && (
              <tr>
                <td colSpan={8} class="muted">
                  {filtered ? 'No records match these filters.' : 'No records yet.'}
                </td>
              </tr>
            )}
            {listing?.records.map((record) => (
              <tr key={record.seq} data-testid="audit-row" data-seq={record.seq}>
                <td class="ops-number">{record.seq}</td>
                <td>
                  <time dateTime={isoOf(record.time)}>{formatTimestamp(record.time)}</time>
                </td>
                <td>{record.principal ?? '–'}</td>
                <td>
                  <code>{record.action}</code>
                </td>
                <td class="ops-cell-wrap">{record.resource ?? '–'}</td>
                <td>{record.decision ?? '–'}</td>
                <td class="ops-number">
                  {record.status ?? '–'}
                  {record.error !== undefined && record.error !== null && (
                    <span class="muted small ops-block">{record.error}</span>
                  )}
                </td>
                <td class="ops-number">{record.latency_ms ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="audit-paging">
        {loading && <span class="muted">Loading…</span>}
        {!loading && listing !== undefined && listing.before > 1 && (
          <button
            type="button"
            class="button"
            data-testid="audit-load-more"
            onClick={() => void more()}
          >
            Load older records
          </button>
        )}
        {!loading && listing !== undefined && listing.before <= 1 && listing.records.length > 0 && (
          <span class="muted small">The start of the log.</span>
        )}
      </div>
    </section>
  );
}
