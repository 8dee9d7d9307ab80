import {
  DecryptionError,
  type DataKeyStore,
  type WrappedDataKey,
} from '../security/crypto/index.js';
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
 *
 * A key object that is not a key record (truncated, altered) is damaged: `list` leaves it out, so
 * what other keys encrypted still opens, and `get` fails as for a key that is gone, naming it;
 * `damaged` lists them for `backup verify`.
 */
export class ObjectDataKeys implements DataKeyStore {
  constructor(private readonly objects: ObjectStore) {}

  async list(): Promise<WrappedDataKey[]> {
    return (await this.scan()).keys;
  }

  async get(id: string): Promise<WrappedDataKey | undefined> {
    const bytes = await this.objects.get(`keys/${id}`);
    if (!bytes) return undefined;
    const key = parseKey(id, bytes);
    if (key instanceof Error) {
      throw new DecryptionError(
        'unknown-data-key',
        `data key ${id} is damaged (keys/${id}: ${key.message})`,
      );
    }
    return key;
  }

  /** Key objects, damaged ones too: one listing, no object read. */
  async storedCount(): Promise<number> {
    let count = 0;
    for (let ids = this.ids(); !(await ids.next()).done;) count += 1;
    return count;
  }

  /** The key objects that are not key records, with why. */
  async damaged(): Promise<{ id: string; reason: string }[]> {
    return (await this.scan()).damaged;
  }

  /** Every key object read and parsed: the keys, and those that are not key records. */
  private async scan() {
    const keys: WrappedDataKey[] = [];
    const damaged: { id: string; reason: string }[] = [];
    for await (const id of this.ids()) {
      const bytes = await this.objects.get(`keys/${id}`);
      if (!bytes) continue;
      const key = parseKey(id, bytes);
      if (key instanceof Error) damaged.push({ id, reason: key.message });
      else keys.push(key);
    }
    return { keys, damaged };
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

  private async *ids(): AsyncGenerator<string> {
    for await (const info of this.objects.list('keys/')) {
      const id = info.key.slice('keys/'.length);
      // An S3 "folder" object (`keys/`) or anything nested is no key.
      if (id !== '' && !id.includes('/')) yield id;
    }
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

/** The key record stored as `keys/<id>`, or an Error saying why the bytes are not one. */
function parseKey(id: string, bytes: Uint8Array): WrappedDataKey | Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return error as Error;
  }
  const stored = (
    typeof parsed === 'object' && parsed !== null ? parsed : {}
  ) as Partial<StoredKey>;
  const { masterVersion, wrapped, createdAt } = stored;
  if (
    stored.id !== id ||
    typeof masterVersion !== 'number' ||
    !Number.isSafeInteger(masterVersion) ||
    typeof wrapped !== 'string' ||
    typeof createdAt !== 'number'
  ) {
    return new Error(`not a data key record`);
  }
  return {
    id,
    masterVersion,
    wrapped: new Uint8Array(Buffer.from(wrapped, 'base64')),
    createdAt,
  };
}
