/**
 * Envelope encryption at rest: AES-256-GCM data keys, wrapped by versioned master keys, with the
 * record a value belongs to bound as additional authenticated data.
 */
export { ciphertextFromText, isCiphertext, isCiphertextText, textPrefix } from './ciphertext.js';
export { MemoryDataKeyStore, type DataKeyStore, type WrappedDataKey } from './data-key-store.js';
export { defaultMaxUsesPerDataKey } from './envelope-crypto.js';
export type { CryptoStatus, EnvelopeCrypto, RetireResult, RewrapResult } from './envelope-types.js';
export {
  CryptoError,
  DecryptionError,
  type CryptoErrorCode,
  type DecryptionFailure,
} from './errors.js';
export { generatedKeyFileName } from './master-key-source.js';
export { openCrypto, type OpenCryptoOptions } from './open-crypto.js';
export type { CryptoLogger, RandomSource } from './types.js';
