import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ObjectKeyError, type ObjectInfo, type ObjectStore } from './types.js';

/** A listing, sorted by key (stores promise every object once, in no particular order). */
async function all(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const listed: ObjectInfo[] = [];
  for await (const item of items) listed.push(item);
  return listed.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

/**
 * The behaviour every `ObjectStore` must have. Each implementation's test calls it with a factory
 * that returns a fresh, empty store.
 */
export function runObjectStoreContract(name: string, makeStore: () => Promise<ObjectStore>): void {
  describe(`object store contract: ${name}`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('gives back exactly the bytes put, binary and empty alike, and replaces on a second put', async () => {
      const bytes = randomBytes(300_000);
      await store.put('chunks/ab/abcdef', bytes);
      expect(Buffer.from((await store.get('chunks/ab/abcdef'))!)).toEqual(bytes);
      await store.put('empty', new Uint8Array());
      expect((await store.get('empty'))!.length).toBe(0);
      await store.put('chunks/ab/abcdef', Buffer.from('second'));
      expect(Buffer.from((await store.get('chunks/ab/abcdef'))!).toString()).toBe('second');
      expect(await store.head('chunks/ab/abcdef')).toEqual({ key: 'chunks/ab/abcdef', size: 6 });
    });

    it('answers undefined for what is not there, and deletes idempotently', async () => {
      expect(await store.get('nothing/here')).toBeUndefined();
      expect(await store.head('nothing/here')).toBeUndefined();
      await store.put('gone', Buffer.from('x'));
      await store.delete('gone');
      await store.delete('gone');
      expect(await store.get('gone')).toBeUndefined();
    });

    it('lists by prefix, each object once, across pages and folders', async () => {
      // No key sits beside a folder of the same stem ("a-b" next to "a/1"): s3rver pages such
      // listings wrongly, and no key assistd writes has that shape.
      const keys = [
        'snapshots/2026-11-27T01',
        'snapshots/2026-11-27T02',
        'segments/a/1',
        'segments/a/2',
        'segments/b/1',
        'segments/c',
        'segments/d',
        'segmentsX',
      ];
      for (const key of [...keys].reverse()) await store.put(key, Buffer.from(key));
      const listed = await all(store.list('segments/'));
      expect(listed.map((item) => item.key)).toEqual([
        'segments/a/1',
        'segments/a/2',
        'segments/b/1',
        'segments/c',
        'segments/d',
      ]);
      expect(listed[0]).toEqual({ key: 'segments/a/1', size: 'segments/a/1'.length });
      expect((await all(store.list('segments'))).map((item) => item.key)).toContain('segmentsX');
      expect((await all(store.list(''))).length).toBe(keys.length);
      expect(await all(store.list('snap'))).toHaveLength(2);
      expect(await all(store.list('none/'))).toEqual([]);
    });

    it('refuses keys that are empty, absolute, climb out or hold odd characters', async () => {
      for (const key of [
        '',
        '/abs',
        '../up',
        'a/../b',
        'a//b',
        'a/./b',
        'sp ace',
        'x\\y',
        '.hidden',
      ]) {
        await expect(store.put(key, Buffer.from('x')), key).rejects.toBeInstanceOf(ObjectKeyError);
      }
    });
  });
}
