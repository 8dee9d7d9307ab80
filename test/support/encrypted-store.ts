import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  openCrypto,
  type CryptoLogger,
  type EnvelopeCrypto,
} from '../../src/security/crypto/index.js';
import { fieldCipher } from '../../src/security/field-cipher.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import type { FieldMigration, Store } from '../../src/storage/types.js';

export const silentLogger: CryptoLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface EncryptedStore {
  store: Store;
  crypto: EnvelopeCrypto;
  migration: FieldMigration;
}

/**
 * `<dataDir>/assistd.db` with encrypted conversation text, the way the server opens it: a real
 * `openCrypto` over the store's own data keys and a master key generated in `dataDir`. Closing
 * the store closes the crypto first.
 */
export async function openEncryptedStore(
  dataDir: string,
  /** Another backend (PostgreSQL); the data dir then holds only the master key. */
  open?: () => Promise<Store>,
): Promise<EncryptedStore> {
  const store = open ? await open() : openSqliteStore({ path: join(dataDir, 'assistd.db') });
  const crypto = await openCrypto({ dataDir, store: store.dataKeys, logger: silentLogger });
  const migration = await store.useEncryption(fieldCipher(crypto));
  const closeStore = store.close.bind(store);
  let closing: Promise<void> | undefined;
  store.close = () => {
    closing ??= crypto.close().then(closeStore);
    return closing;
  };
  return { store, crypto, migration };
}

/**
 * The encodings a leaked plaintext could take in a file: UTF-8, UTF-16, hex, and base64 and
 * base64url at each of the three byte alignments (the middle of the encoding only, which does not
 * depend on the bytes around it).
 */
function encodings(text: string): Array<[string, Buffer]> {
  const utf8 = Buffer.from(text, 'utf8');
  const forms: Array<[string, Buffer]> = [
    ['utf8', utf8],
    ['utf16le', Buffer.from(text, 'utf16le')],
    ['utf16be', Buffer.from(text, 'utf16le').swap16()],
    ['hex', Buffer.from(utf8.toString('hex'))],
  ];
  for (const alignment of [0, 1, 2]) {
    const shifted = Buffer.concat([Buffer.alloc(alignment), utf8]);
    for (const encoding of ['base64', 'base64url'] as const) {
      const encoded = shifted.toString(encoding).slice(4, -4);
      forms.push([`${encoding}@${alignment}`, Buffer.from(encoded)]);
    }
  }
  return forms;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

/** Every `file: encoding of text` where one of `texts` occurs in a file under `dir`, as bytes. */
export function findInFiles(dir: string, texts: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const text of texts) {
      for (const [name, form] of encodings(text)) {
        if (bytes.includes(form)) found.push(`${file}: ${name} of ${text}`);
      }
    }
  }
  return found;
}
