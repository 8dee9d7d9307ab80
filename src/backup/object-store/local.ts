import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { replaceFileDurably } from '../../util/durable-file.js';
import { assertObjectKey, assertObjectPrefix, type ObjectInfo, type ObjectStore } from './types.js';

/**
 * Objects as files under one folder (`<data_dir>/objects` by default): each key a relative path.
 * A put writes a temporary file, fsyncs it, renames it into place and fsyncs the folder, so a
 * crash leaves the old object or the new one. Temporary files start with `.` and are not listed.
 */
export class LocalObjectStore implements ObjectStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.root = resolve(root);
    this.location = `folder ${this.root}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await replaceFileDurably(this.path(key), data, 0o600);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.path(key));
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertObjectPrefix(prefix);
    // Only the folders the prefix can reach are walked.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    for await (const info of this.walk(base)) {
      if (info.key.startsWith(prefix)) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (error) {
      if (!missing(error)) throw error;
    }
  }

  /** Files under `relative` in byte order of their keys (a folder's keys sort with `/`). */
  private async *walk(relative: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(relative === '' ? this.root : join(this.root, relative), {
        withFileTypes: true,
      });
    } catch (error) {
      if (missing(error)) return;
      throw error;
    }
    const named = entries
      .filter((entry) => !entry.name.startsWith('.'))
      .map((entry) => ({
        entry,
        key: relative === '' ? entry.name : `${relative}/${entry.name}`,
      }))
      .sort((x, y) => compareBytes(sortKey(x), sortKey(y)));
    for (const { entry, key } of named) {
      if (entry.isDirectory()) yield* this.walk(key);
      else if (entry.isFile()) yield { key, size: (await stat(join(this.root, key))).size };
    }
  }

  private path(key: string): string {
    assertObjectKey(key);
    const path = join(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) throw new Error(`object key escapes the folder: ${key}`);
    return path;
  }
}

/** A folder's entries sort by their key followed by "/", as S3 would list the keys inside. */
function sortKey(item: { entry: { isDirectory(): boolean }; key: string }): string {
  return item.entry.isDirectory() ? `${item.key}/` : item.key;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function missing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
