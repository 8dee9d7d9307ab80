import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Store } from '../storage/types.js';
import { ciphertextFromText, openCrypto, type EnvelopeCrypto } from './crypto/index.js';
import type { SecretSealer } from './keyring.js';

/** The encryption at rest, and the same keys as a `SecretSealer` for the keyring's private keys. */
export interface AtRest {
  crypto: EnvelopeCrypto;
  sealer: SecretSealer;
}

/** Opens the encryption at rest over the data dir's master key file and the store's data keys. */
export async function openAtRest(options: {
  config: Readonly<Config>;
  store: Store;
  logger: Logger;
  /** Decrypt only: no data key of this process is stored (readers: `audit verify`). */
  readOnly?: boolean;
}): Promise<AtRest> {
  const crypto = await openCrypto({
    masterKeyFile: options.config.security.master_key_file,
    dataDir: options.config.data_dir,
    store: options.store.dataKeys,
    logger: options.logger,
    ...(options.readOnly === true ? { readOnly: true } : {}),
  });
  return {
    crypto,
    sealer: {
      seal: (plaintext, context) => crypto.encryptText(plaintext, context),
      open: async (sealed, context) =>
        (await crypto.decryptAsync(ciphertextFromText(sealed), context)).toString('utf8'),
    },
  };
}
