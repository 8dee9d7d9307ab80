import type { DataKeyStore, WrappedDataKey } from '../security/crypto/index.js';
import type { ObjectStore } from './object-store/types.js';

interface StoredKey {
  id: string;
  masterVersion: number;
  wrapped: string;
  createdAt: number;
}

/**
 * The data keys of a backup repository, kept in the repository itself (`keys/<id>`, wrapped by the
 * master key), so a restore needs only the object store and the master key file: not the
 * database, which may be what was lost.
 */
export class ObjectDataKeys implements DataKeyStore {
  constructor(private readonly objects: ObjectStore) {}

  async list(): Promise<WrappedDataKey[]> {
    const keys: WrappedDataKey[] = [];
    for await (const info of this.objects.list('keys/')) {
      const key = await this.get(info.key.slice('keys/'.length));
      if (key) keys.push(key);
    }
    return keys;
  }

  async get(id: string): Promise<WrappedDataKey | undefined> {
    const bytes = await this.objects.get(`keys/${id}`);
    if (!bytes) return undefined;
    const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredKey;
    return {
      id: stored.id,
      masterVersion: stored.masterVersion,
      wrapped: new Uint8Array(Buffer.from(stored.wrapped, 'base64')),
      createdAt: stored.createdAt,
    };
  }

  async insert(key: WrappedDataKey): Promise<void> {
    if (await this.objects.head(`keys/${key.id}`)) throw new Error(`data key ${key.id} exists`);
    await this.write(key);
  }

  async rewrap(keys: readonly WrappedDataKey[]): Promise<void> {
    for (const key of keys) {
      if (!(await this.objects.head(`keys/${key.id}`))) {
        throw new Error(`data key ${key.id} does not exist`);
      }
    }
    for (const key of keys) await this.write(key);
  }

  private async write(key: WrappedDataKey): Promise<void> {
    const stored: StoredKey = {
      id: key.id,
      masterVersion: key.masterVersion,
      wrapped: Buffer.from(key.wrapped).toString('base64'),
      createdAt: key.createdAt,
    };
    await this.objects.put(`keys/${key.id}`, Buffer.from(JSON.stringify(stored)));
  }
}
