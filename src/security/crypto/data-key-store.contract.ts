import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DataKeyStore, WrappedDataKey } from './data-key-store.js';

/**
 * The behaviour every `DataKeyStore` must have. Each implementation's test calls this with a
 * factory that returns a fresh, empty store.
 */
export function runDataKeyStoreContract(
  name: string,
  makeStore: () => Promise<DataKeyStore>,
): void {
  describe(`data key store contract: ${name}`, () => {
    let store: DataKeyStore;
    const key = (id: string, masterVersion = 1, createdAt = 1_700_000_000_000): WrappedDataKey => ({
      id,
      masterVersion,
      wrapped: randomBytes(61),
      createdAt,
    });
    const plain = (record: WrappedDataKey | undefined) =>
      record && { ...record, wrapped: Buffer.from(record.wrapped).toString('hex') };

    beforeEach(async () => {
      store = await makeStore();
    });

    it('starts empty', async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.get('0011223344556677')).toBeUndefined();
    });

    it('returns what was inserted, byte for byte', async () => {
      const first = key('0011223344556677', 1, 1_700_000_000_001);
      const second = key('8899aabbccddeeff', 2, 1_700_000_000_002);
      await store.insert(first);
      await store.insert(second);
      expect(plain(await store.get(first.id))).toEqual(plain(first));
      const listed = (await store.list()).map(plain).sort((a, b) => a!.id.localeCompare(b!.id));
      expect(listed).toEqual([plain(first), plain(second)]);
    });

    it('rejects a duplicate id and keeps the first', async () => {
      const first = key('0011223344556677');
      await store.insert(first);
      await expect(store.insert(key('0011223344556677', 2))).rejects.toThrow();
      expect(plain(await store.get(first.id))).toEqual(plain(first));
    });

    it('rewrap replaces version and wrapping, keeps createdAt, leaves others alone', async () => {
      const first = key('0011223344556677', 1, 111);
      const second = key('8899aabbccddeeff', 1, 222);
      await store.insert(first);
      await store.insert(second);
      const rewrapped = { ...key(first.id, 2, 999) };
      await store.rewrap([rewrapped]);
      expect(plain(await store.get(first.id))).toEqual(plain({ ...rewrapped, createdAt: 111 }));
      expect(plain(await store.get(second.id))).toEqual(plain(second));
    });

    it('rewrap is all or nothing when an id is missing', async () => {
      const first = key('0011223344556677', 1);
      await store.insert(first);
      await expect(store.rewrap([key(first.id, 2), key('ffffffffffffffff', 2)])).rejects.toThrow();
      expect(plain(await store.get(first.id))).toEqual(plain(first));
      expect(await store.get('ffffffffffffffff')).toBeUndefined();
    });
  });
}
