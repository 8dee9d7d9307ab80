import { useState } from 'preact/hooks';
import { type AuditFilters, type AuditRecord, auditFetcher } from '../api/audit';
import type { ApiClient } from '../api/client';
import { failureText } from '../error-text';
import { findHead, loadOlder } from './audit-paging';
import { AuditVerify } from './audit-verify';
import { LoadMore } from './load-more';
import { OpsError } from './ops-error';
import { OpsTable } from './ops-table';
import { TimeText } from './time-text';
import { usePagedListing } from './use-paged-listing';

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
  const statusInvalid = filtersOf(form) === undefined;
  // The newest page, again whenever the filters change or Refresh is pressed.
  const { listing, setListing, loading, error, hasMore, loadMore, reload } =
    usePagedListing<Listing>({
      first: async (signal) => {
        const fetchPage = auditFetcher(api, signal);
        const head = await findHead(fetchPage);
        return loadOlder(fetchPage, filters, head + 1, { want: pageSize });
      },
      next: async (current, signal) => {
        const page = await loadOlder(auditFetcher(api, signal), filters, current.before, {
          want: pageSize,
        });
        return { records: [...current.records, ...page.records], before: page.before };
      },
      hasMore: (current) => current.before > 1,
      describe: (failure) => failureText('The audit log could not be loaded', failure),
      deps: [api, filters],
    });

  function apply(event: Event) {
    event.preventDefault();
    const next = filtersOf(form);
    if (next === undefined) return;
    setListing(undefined);
    setFilters(next);
    reload();
  }

  const filtered =
    filters.principal !== undefined || filters.action !== undefined || filters.status !== undefined;
  const noRecordsText = filtered ? 'No records match these filters.' : 'No records yet.';

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
            placeholder="e.g. create:chat"
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
              reload();
            }}
          >
            Clear
          </button>
          <button
            type="button"
            class="button button--quiet"
            data-testid="audit-refresh"
            disabled={loading}
            onClick={reload}
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
      <OpsError message={error} />
      <OpsTable
        labelledBy="ops-audit-caption"
        testId="audit-table"
        busy={loading}
        captionId="ops-audit-caption"
        caption={`Audit records, newest first${filtered ? ', filtered' : ''}`}
        columns={[
          'Seq',
          'Time',
          'Principal',
          'Action',
          'Resource',
          'Decision',
          'Status',
          'Latency (ms)',
        ]}
        empty={listing?.records.length === 0 ? noRecordsText : undefined}
      >
        {listing?.records.map((record) => (
          <tr key={record.seq} data-testid="audit-row" data-seq={record.seq}>
            <td class="ops-number">{record.seq}</td>
            <td>
              <TimeText value={record.time} />
            </td>
            <td>{record.principal === null ? '–' : <bdi>{record.principal}</bdi>}</td>
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
      </OpsTable>
      <LoadMore
        loading={loading}
        hasMore={hasMore}
        label="Load older records"
        testId="audit-load-more"
        onLoadMore={loadMore}
      >
        {!loading && listing !== undefined && listing.before <= 1 && listing.records.length > 0 && (
          <span class="muted small">The start of the log.</span>
        )}
      </LoadMore>
    </section>
  );
}
