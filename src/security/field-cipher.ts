import type { FieldCipher, FieldMigration, Store } from '../storage/types.js';
import { ciphertextFromText } from './crypto/ciphertext.js';
import {
  DecryptionError,
  isCiphertextText,
  type CryptoLogger,
  type EnvelopeCrypto,
} from './crypto/index.js';

/**
 * The store's conversation text under the envelope encryption: `aenc:` text ciphertext bound to
 * the row and column. Values that are not ciphertext are legacy plaintext and read as they are.
 */
export function fieldCipher(crypto: EnvelopeCrypto): FieldCipher {
  // Values whose data key this process has not loaded, by the error their decryption threw, for
  // `recover`. Weak: an error nobody recovers from is collected with its entry.
  const missingKey = new WeakMap<object, { stored: string; context: string }>();
  return {
    encrypts: true,
    encrypt: (plaintext, context) => crypto.encryptText(plaintext, context),
    decrypt(stored, context) {
      try {
        return crypto.decryptText(stored, context);
      } catch (error) {
        if (error instanceof DecryptionError && error.reason === 'unknown-data-key') {
          missingKey.set(error, { stored, context });
        }
        throw error;
      }
    },
    isEncrypted: isCiphertextText,
    async recover(failure) {
      const value = typeof failure === 'object' && failure ? missingKey.get(failure) : undefined;
      if (value === undefined) return false;
      missingKey.delete(failure as object);
      // Loads the data key (another process made it after this one opened) from the store.
      await crypto.decryptAsync(ciphertextFromText(value.stored), value.context);
      return true;
    },
  };
}

/**
 * Conversation text stored in clear, for tests and tools that have no key file. Named so that a
 * plaintext store is visible where it is chosen; the server always encrypts. Reading a value that
 * is encrypted fails with a clear error instead of returning the ciphertext as text.
 */
export const plaintextFields: FieldCipher = {
  encrypts: false,
  encrypt: (plaintext) => plaintext,
  decrypt(_stored, context) {
    throw new Error(`${context} is encrypted, and this store was opened without encryption`);
  },
  isEncrypted: isCiphertextText,
};

/**
 * Turns on encryption of conversation text, encrypting what earlier versions stored in clear
 * (logged when there was any). Call right after `openAtRest`, before serving.
 */
export async function encryptConversations(options: {
  store: Store;
  crypto: EnvelopeCrypto;
  logger: CryptoLogger;
}): Promise<FieldMigration> {
  const migration = await options.store.useEncryption(fieldCipher(options.crypto));
  if (migration.messages + migration.conversations > 0) {
    options.logger.info(
      { ...migration },
      'encrypted conversation text stored before encryption at rest',
    );
  }
  return migration;
}
