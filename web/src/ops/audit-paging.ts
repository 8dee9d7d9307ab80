import type { AuditFilters, AuditPageFetcher, AuditRecord } from '../api/audit';

/**
 * `GET /admin/audit` lists records oldest first after a sequence number, and a filtered query
 * scans at most this many records per request (src/http/routes/admin/audit.ts `scanWindow`).
 */
export const serverScanWindow = 100_000;

/** The server's page size limit. */
const maxLimit = 1000;

/** The newest record's sequence number (0: the log is empty): every page carries `head_seq`. */
export async function findHead(fetchPage: AuditPageFetcher): Promise<number> {
  return (await fetchPage({ after: 0, limit: 1 })).head_seq;
}

export interface OlderRecords {
  /** Newest first. */
  records: AuditRecord[];
  /** Records with a smaller seq are still to be loaded; 1 when the start of the log was reached. */
  before: number;
}

export interface LoadOlderOptions {
  /** Stop once this many records were found (a page of the table). */
  want?: number;
  /** Requests one call makes at most; the next call goes on from where this one stopped. */
  maxRequests?: number;
}

/**
 * The newest records matching `filters` with a seq below `before`, newest first. The API pages
 * forward only, so this walks backwards in windows of sequence numbers, reading each window
 * forward: a window the size of the page when every record matches (no filter), growing while
 * windows come back empty (a rare principal or action), up to the server's scan window.
 */
export async function loadOlder(
  fetchPage: AuditPageFetcher,
  filters: AuditFilters,
  before: number,
  options: LoadOlderOptions = {},
): Promise<OlderRecords> {
  const want = Math.max(1, options.want ?? 50);
  const maxRequests = Math.max(1, options.maxRequests ?? 12);
  let requests = 0;
  let high = before - 1;
  let window = want;
  const found: AuditRecord[] = [];
  while (high >= 1 && found.length < want && requests < maxRequests) {
    const low = Math.max(0, high - window);
    const limit = Math.min(maxLimit, high - low);
    const inWindow: AuditRecord[] = [];
    let after = low;
    let complete = false;
    while (requests < maxRequests) {
      const page = await fetchPage({ ...filters, after, limit });
      requests++;
      for (const record of page.data) {
        if (record.seq > low && record.seq <= high) inWindow.push(record);
      }
      const lastSeq = page.data.at(-1)?.seq ?? after;
      if (!page.has_more || page.next_after >= high || lastSeq >= high) {
        complete = true;
        break;
      }
      after = Math.max(page.next_after, lastSeq);
    }
    // A window read only in part would leave a hole: the next call reads it again, whole.
    if (!complete) break;
    found.push(...inWindow);
    high = low;
    if (inWindow.length === 0) window = Math.min(window * 4, serverScanWindow);
    else if (inWindow.length > want * 2) window = Math.max(want, Math.floor(window / 4));
  }
  found.sort((a, b) => b.seq - a.seq);
  return { records: found, before: high + 1 };
}
