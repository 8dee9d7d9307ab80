/** One stored object, as a listing shows it. */
export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * Where backups, shipped conversation-log segments and their indexes go: a local folder (the
 * embedded default) or an S3-compatible bucket. Keys are `/`-separated paths of plain segments
 * (`assertObjectKey`). Objects are written whole and immutable in practice (every writer here
 * names its objects by content hash or sequence); `put` replaces, and is durable when it resolves.
 */
export interface ObjectStore {
  /** Writes the whole object; resolves once it is durable (fsynced, or acknowledged by S3). */
  put(key: string, data: Uint8Array): Promise<void>;
  /** The object's bytes; undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Size without the bytes; undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object whose key starts with `prefix`, each once. The order is unspecified (S3 lists in
   * byte order, some compatible servers do not): callers that need an order sort. Objects whose
   * keys this store could not address (a bucket's folder marker `locks/`) are left out.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes the object; nothing happens when there is none. */
  delete(key: string): Promise<void>;
  /** Where it is, for messages (no credentials). */
  readonly location: string;
}

/** A key this store refuses: empty, absolute, with `.`/`..` segments or unusual characters. */
export class ObjectKeyError extends Error {
  override readonly name = 'ObjectKeyError';
}

const segment = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Whether `assertObjectKey` takes `key`. */
export function isObjectKey(key: string): boolean {
  try {
    assertObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Keys are relative paths of segments `[A-Za-z0-9._-]`, none `.`/`..`, at most 512 bytes. */
export function assertObjectKey(key: string): void {
  if (key.length === 0 || key.length > 512) throw new ObjectKeyError(`invalid object key "${key}"`);
  for (const part of key.split('/')) {
    if (!segment.test(part) || part === '..') {
      throw new ObjectKeyError(`invalid object key "${key.slice(0, 100)}"`);
    }
  }
}

/** A listing prefix: empty, or a key (or its start) that `assertObjectKey` would accept. */
export function assertObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  assertObjectKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
