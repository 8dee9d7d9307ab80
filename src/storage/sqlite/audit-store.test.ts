import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sampleEntry, tempAuditStore } from '../../../test/support/audit.js';
import { run } from '../../../test/support/process.js';
import { chainHash } from '../../security/audit/chain.js';
import { runAuditContract } from '../audit-contract.js';
import { openSqliteStore } from './store.js';

runAuditContract('sqlite', () => Promise.resolve(openSqliteStore({ path: ':memory:' })));

describe('sqlite audit tables', () => {
  it('refuse updates and deletes (append-only)', async () => {
    const { store, raw } = tempAuditStore();
    await store.audit.append([sampleEntry(1)], chainHash);
    expect(() => raw.exec(`UPDATE audit_records SET principal = 'x'`)).toThrow(/append-only/);
    expect(() => raw.exec('DELETE FROM audit_records')).toThrow(/append-only/);
    raw.close();
    await store.close();
  });

  it('keep one chain when three processes append at once (the server and two CLIs)', async () => {
    const { store, raw, dir } = tempAuditStore();
    raw.close();
    const path = join(dir, 'assistd.db');
    const writer = fileURLToPath(new URL('../../../test/support/audit-writer.ts', import.meta.url));
    const children = ['cli-1', 'cli-2'].map((label) =>
      run(process.execPath, ['--import', 'tsx', writer, path, '150', label]),
    );
    for (let index = 0; index < 150; index++) {
      await store.audit.append([sampleEntry(index, { principal: 'server' })], chainHash);
      if (index % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const exits = await Promise.all(children);
    expect(exits.map((exit) => exit.code)).toEqual([0, 0]);
    const records = await store.audit.query({ after: 0, limit: 1000 });
    expect(records.map((record) => record.seq)).toEqual(
      Array.from({ length: 450 }, (_, index) => index + 1),
    );
    let prevHash: Buffer = Buffer.alloc(32);
    for (const record of records) {
      expect(record.prevHash).toEqual(prevHash);
      expect(record.hash).toEqual(chainHash(prevHash, record.seq, record));
      prevHash = record.hash;
    }
    expect(new Set(records.map((record) => record.principal))).toEqual(
      new Set(['server', 'cli-1', 'cli-2']),
    );
    await store.close();
  });
});
