import { describe, expect, it } from 'vitest';
import type { AuditFilters, AuditPageFetcher, AuditRecord } from '../api/audit';
import { findHead, loadOlder } from './audit-paging';

/** The route's listing over `records` (src/http/routes/admin/audit.ts), scan window included. */
function fakeServer(records: AuditRecord[], scanWindow = 100_000) {
  const calls: Array<{ after: number; limit: number } & AuditFilters> = [];
  const fetchPage: AuditPageFetcher = async (query) => {
    calls.push(query);
    const filtered =
      query.principal !== undefined || query.action !== undefined || query.status !== undefined;
    const headSeq = records.at(-1)?.seq ?? 0;
    const through = filtered ? Math.min(query.after + scanWindow, headSeq) : headSeq;
    const matching = records
      .filter((record) => record.seq > query.after && record.seq <= through)
      .filter((record) => query.principal === undefined || record.principal === query.principal)
      .filter((record) => query.action === undefined || record.action === query.action)
      .filter((record) => query.status === undefined || record.status === query.status)
      .slice(0, query.limit + 1);
    const page = matching.slice(0, query.limit);
    const full = matching.length > query.limit;
    const nextAfter = full ? page.at(-1)!.seq : Math.max(query.after, through);
    return {
      data: page,
      has_more: full || nextAfter < headSeq,
      next_after: nextAfter,
      head_seq: headSeq,
    };
  };
  return { fetchPage, calls };
}

function log(count: number, principalOf: (seq: number) => string = () => 'alice'): AuditRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    seq: index + 1,
    time: new Date(index * 1000).toISOString(),
    principal: principalOf(index + 1),
    action: 'chat:create',
    resource: null,
    decision: 'allow',
    status: 200,
  }));
}

describe('findHead', () => {
  it('reads the newest seq from one request', async () => {
    for (const size of [0, 1, 5000]) {
      const { fetchPage, calls } = fakeServer(log(size));
      expect(await findHead(fetchPage), `size ${size}`).toBe(size);
      expect(calls).toHaveLength(1);
    }
  });
});

describe('loadOlder', () => {
  it('reads the newest page of an unfiltered log in one request, then the page before', async () => {
    const { fetchPage, calls } = fakeServer(log(1000));
    const first = await loadOlder(fetchPage, {}, 1001, { want: 50 });
    expect(first.records.map((record) => record.seq)).toEqual(
      Array.from({ length: 50 }, (_, index) => 1000 - index),
    );
    expect(first.before).toBe(951);
    expect(calls).toEqual([{ after: 950, limit: 50 }]);
    const second = await loadOlder(fetchPage, {}, first.before, { want: 50 });
    expect(second.records[0]?.seq).toBe(950);
    expect(second.records.at(-1)?.seq).toBe(901);
  });

  it('reaches the start of a short log', async () => {
    const { fetchPage } = fakeServer(log(30));
    const page = await loadOlder(fetchPage, {}, 31, { want: 50 });
    expect(page.records).toHaveLength(30);
    expect(page.before).toBe(1);
  });

  it('finds rare matches by widening the window, newest first, without duplicates', async () => {
    const records = log(20_000, (seq) => (seq % 997 === 0 ? 'bob' : 'alice'));
    const { fetchPage } = fakeServer(records, 5000);
    const seen: number[] = [];
    let before = 20_001;
    while (before > 1) {
      const page = await loadOlder(fetchPage, { principal: 'bob' }, before, { want: 5 });
      seen.push(...page.records.map((record) => record.seq));
      expect(page.before).toBeLessThan(before);
      before = page.before;
    }
    const expected = records
      .filter((record) => record.principal === 'bob')
      .map((record) => record.seq)
      .reverse();
    expect(seen).toEqual(expected);
  });

  it('stops after its request budget and goes on from there next time', async () => {
    const records = log(50_000, (seq) => (seq === 7 ? 'bob' : 'alice'));
    const { fetchPage, calls } = fakeServer(records);
    const first = await loadOlder(fetchPage, { principal: 'bob' }, 50_001, {
      want: 10,
      maxRequests: 3,
    });
    expect(calls).toHaveLength(3);
    expect(first.records).toEqual([]);
    expect(first.before).toBeGreaterThan(1);
    const rest = await loadOlder(fetchPage, { principal: 'bob' }, first.before, { want: 10 });
    expect(rest.records.map((record) => record.seq)).toEqual([7]);
    expect(rest.before).toBe(1);
  });

  it('reads a dense window in several pages when it holds more than one request returns', async () => {
    const records = log(5000, (seq) => (seq > 4990 || seq < 2500 ? 'bob' : 'alice'));
    const { fetchPage } = fakeServer(records);
    const page = await loadOlder(fetchPage, { principal: 'bob' }, 5001, { want: 50 });
    expect(page.records.slice(0, 10).map((record) => record.seq)).toEqual([
      5000, 4999, 4998, 4997, 4996, 4995, 4994, 4993, 4992, 4991,
    ]);
    expect(page.records[10]?.seq).toBe(2499);
    const seqs = page.records.map((record) => record.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  });
});
