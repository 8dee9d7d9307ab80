import type { ApiClient } from './client';

/** One record as `GET /admin/audit` returns it (src/security/audit/record-json.ts). */
export interface AuditRecord {
  seq: number;
  /** ISO 8601. */
  time: string;
  source?: string;
  request_id?: string | null;
  principal: string | null;
  auth?: string | null;
  ip?: string | null;
  method?: string | null;
  action: string;
  resource: string | null;
  decision: string | null;
  statement?: string | null;
  status: number | null;
  error?: string | null;
  latency_ms?: number | null;
}

/** The filters the route's query schema takes; empty ones are left out. */
export interface AuditFilters {
  principal?: string | undefined;
  action?: string | undefined;
  status?: number | undefined;
}

/** Records in sequence order after `after`; `next_after` continues the listing. */
export interface AuditPage {
  data: AuditRecord[];
  has_more: boolean;
  next_after: number;
  /** The newest record's seq when the page was read. */
  head_seq: number;
}

export type AuditPageFetcher = (
  query: { after: number; limit: number } & AuditFilters,
) => Promise<AuditPage>;

export function auditQuery(query: { after: number; limit: number } & AuditFilters): string {
  const params = new URLSearchParams({ after: String(query.after), limit: String(query.limit) });
  if (query.principal !== undefined && query.principal !== '') {
    params.set('principal', query.principal);
  }
  if (query.action !== undefined && query.action !== '') params.set('action', query.action);
  if (query.status !== undefined) params.set('status', String(query.status));
  return `/admin/audit?${params.toString()}`;
}

export function auditFetcher(api: ApiClient, signal?: AbortSignal): AuditPageFetcher {
  return async (query) => {
    const page = (await api.json(auditQuery(query), { signal })) as AuditPage;
    return {
      data: Array.isArray(page.data) ? page.data : [],
      has_more: page.has_more === true,
      next_after: typeof page.next_after === 'number' ? page.next_after : query.after,
      head_seq: typeof page.head_seq === 'number' ? page.head_seq : 0,
    };
  };
}

/** One problem `GET /admin/audit/verify` found; `seq` null: the checkpoint file as a whole. */
export interface AuditProblem {
  kind: string;
  seq: number | null;
  message: string;
}

/** `GET /admin/audit/verify` (src/security/audit/verify.ts). */
export interface AuditVerification {
  intact: boolean;
  records: number;
  lastSeq: number;
  checkpoints: number;
  lastCheckpoint: { seq: number; at: number; kid: string } | null;
  unanchored: { from: number; to: number } | null;
  checkpointFile: 'present' | 'absent' | 'not-configured';
  problems: AuditProblem[];
  problemsOmitted: number;
}

export async function verifyAudit(api: ApiClient): Promise<AuditVerification> {
  const body = (await api.json('/admin/audit/verify')) as AuditVerification;
  return { ...body, problems: Array.isArray(body.problems) ? body.problems : [] };
}
