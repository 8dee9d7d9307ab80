import { expect, it } from 'vitest';
import { runDataKeyStoreContract } from './data-key-store.contract.js';
import { MemoryDataKeyStore } from './data-key-store.js';

runDataKeyStoreContract('memory', async () => new MemoryDataKeyStore());

it('the memory store keeps copies, so a caller cannot alter stored bytes', async () => {
  const store = new MemoryDataKeyStore();
  const wrapped = new Uint8Array(61).fill(7);
  await store.insert({ id: '0011223344556677', masterVersion: 1, wrapped, createdAt: 1 });
  wrapped.fill(0);
  (await store.list())[0]!.wrapped.fill(0);
  expect((await store.get('0011223344556677'))!.wrapped[0]).toBe(7);
});
