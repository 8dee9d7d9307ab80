/**
 * The log calls this module makes; a pino `Logger` fits. Lines carry paths, versions and key ids,
 * never key material or plaintext.
 */
export interface CryptoLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * `size` cryptographically random bytes in a new buffer the caller may keep. The default is
 * `defaultRandom` (`node:crypto`'s CSPRNG); tests inject their own. IVs, data keys, key ids and
 * generated master keys all come from here, so anything but a CSPRNG breaks the encryption.
 */
export type RandomSource = (size: number) => Buffer;
