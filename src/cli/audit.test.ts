import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleEntry, tempAuditStore } from '../../test/support/audit.js';
import { chainHash } from '../security/audit/chain.js';
import type { AuditRecord, Store } from '../storage/types.js';
import { followAudit, recordLine } from './audit.js';

let dir: string;
let store: Store;

beforeEach(() => {
  const opened = tempAuditStore();
  opened.raw.close();
  ({ dir, store } = opened);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit tail', () => {
  it('follows new records until stopped', async () => {
    await store.audit.append([sampleEntry(1)], chainHash);
    const seen: number[] = [];
    const stop = new AbortController();
    const following = followAudit(
      store.audit,
      1,
      (record) => seen.push(record.seq),
      stop.signal,
      10,
    );
    await store.audit.append([sampleEntry(2), sampleEntry(3)], chainHash);
    for (let waited = 0; seen.length < 2 && waited < 2000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    stop.abort();
    await following;
    expect(seen).toEqual([2, 3]);
  });

  it('prints one line per record, quoting text a caller chose', async () => {
    await store.audit.append(
      [sampleEntry(1, { principal: 'eve\u001b[2J', userAgent: 'x', resource: '/v1/a b' })],
      chainHash,
    );
    const [record] = (await store.audit.latest(1)) as [AuditRecord];
    const line = recordLine(record);
    expect(line).toMatch(
      /^1 2023-11-14T22:13:20\.001Z http "eve\\u001b\[2J"\(jwt\) GET list:model "\/v1\/a b" allow 200 - 1\.25ms req=req-1 ip=127\.0\.0\.1$/,
    );
    expect(line).not.toContain('\u001b');
  });
});
