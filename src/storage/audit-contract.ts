import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditCheckpoint, AuditEntry, AuditLink, Store } from './types.js';

/**
 * The behaviour every `AuditStore` must have (SQLite now, PostgreSQL later). Each
 * implementation's test calls it with a factory that returns a fresh, empty store.
 */
export function runAuditContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`audit store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    /** A stand-in for the chain hash: deterministic in its three inputs. */
    const link: AuditLink = (prevHash, seq, entry) =>
      createHash('sha256')
        .update(prevHash)
        .update(`${seq}:${JSON.stringify(entry)}`)
        .digest();

    const entry = (index: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
      at: 1000 + index,
      source: 'http',
      requestId: `req-${index}`,
      principal: index % 2 === 0 ? 'alice' : 'bob',
      auth: 'jwt',
      ip: '10.0.0.1',
      userAgent: 'ua',
      method: 'POST',
      action: index % 3 === 0 ? 'create:chat' : 'list:model',
      resource: '/v1/chat',
      decision: 'allow',
      statement: 'default-chat (built-in default:3)',
      status: index % 4 === 0 ? 403 : 200,
      error: null,
      latencyMs: 1.5 + index / 10,
      details: null,
      ...overrides,
    });

    const checkpoint = (seq: number, previous?: AuditCheckpoint): AuditCheckpoint => ({
      seq,
      headHash: Buffer.alloc(32, seq),
      at: 5000 + seq,
      prevSignature: previous?.signature,
      kid: 'kid-1',
      signature: Buffer.alloc(256, seq),
    });

    it('numbers records 1, 2, 3… across appends and chains each onto the one before', async () => {
      expect(await store.audit.head()).toBeUndefined();
      expect(await store.audit.append([entry(1), entry(2)], link)).toBe(2);
      expect(await store.audit.append([entry(3)], link)).toBe(3);
      const records = await store.audit.query({ after: 0, limit: 10 });
      expect(records.map((record) => record.seq)).toEqual([1, 2, 3]);
      expect(records[0]!.prevHash).toEqual(Buffer.alloc(32));
      expect(records[1]!.prevHash).toEqual(records[0]!.hash);
      expect(records[2]!.hash).toEqual(link(records[1]!.hash, 3, entry(3)));
      expect(await store.audit.head()).toEqual({ seq: 3, hash: records[2]!.hash });
    });

    it('gives every field back as written', async () => {
      const full = entry(1, {
        details: { token_id: 'j1', groups: ['a', 'b'], admin: true, ttl_ms: 60_000, kid: null },
        latencyMs: 0.1 + 0.2,
        userAgent: 'Mozilla "5.0" é 😀',
      });
      const bare = entry(2, {
        source: 'cli',
        requestId: null,
        principal: null,
        auth: null,
        ip: null,
        userAgent: null,
        method: null,
        action: null,
        resource: null,
        decision: null,
        statement: null,
        status: null,
        error: 'usage_error',
        latencyMs: null,
      });
      await store.audit.append([full, bare], link);
      const [first, second] = await store.audit.query({ after: 0, limit: 10 });
      expect(first).toMatchObject(full);
      expect(second).toMatchObject(bare);
    });

    it('writes a batch all or nothing', async () => {
      await store.audit.append([entry(1)], link);
      const failing: AuditLink = (prevHash, seq, written) => {
        if (seq === 3) throw new Error('boom');
        return link(prevHash, seq, written);
      };
      await expect(store.audit.append([entry(2), entry(3)], failing)).rejects.toThrow('boom');
      expect((await store.audit.head())?.seq).toBe(1);
    });

    it('pages, filters, bounds the scanned range, and lists the newest', async () => {
      await store.audit.append(
        Array.from({ length: 12 }, (_, index) => entry(index + 1)),
        link,
      );
      const page = await store.audit.query({ after: 3, limit: 4 });
      expect(page.map((record) => record.seq)).toEqual([4, 5, 6, 7]);
      const alice = await store.audit.query({ after: 0, limit: 100, principal: 'alice' });
      expect(alice.map((record) => record.seq)).toEqual([2, 4, 6, 8, 10, 12]);
      const denied = await store.audit.query({ after: 0, limit: 100, status: 403 });
      expect(denied.map((record) => record.seq)).toEqual([4, 8, 12]);
      const both = await store.audit.query({
        after: 0,
        limit: 100,
        action: 'create:chat',
        principal: 'alice',
      });
      expect(both.map((record) => record.seq)).toEqual([6, 12]);
      const bounded = await store.audit.query({ after: 2, through: 8, limit: 100, status: 403 });
      expect(bounded.map((record) => record.seq)).toEqual([4, 8]);
      expect((await store.audit.latest(3)).map((record) => record.seq)).toEqual([10, 11, 12]);
    });

    it('keeps checkpoints in order and refuses one based on a stale previous checkpoint', async () => {
      expect(await store.audit.lastCheckpoint()).toBeUndefined();
      const first = checkpoint(10);
      expect(await store.audit.insertCheckpoint(first, undefined)).toBe(true);
      // Another writer checkpointed first: this one was signed over the old state.
      expect(await store.audit.insertCheckpoint(checkpoint(12), undefined)).toBe(false);
      const second = checkpoint(20, first);
      expect(await store.audit.insertCheckpoint(second, 10)).toBe(true);
      expect(await store.audit.insertCheckpoint(checkpoint(15, second), 20)).toBe(false);
      expect(await store.audit.checkpoints()).toEqual([first, second]);
      expect(await store.audit.lastCheckpoint()).toEqual(second);
    });
  });
}
