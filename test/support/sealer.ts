import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretSealer } from '../../src/security/keyring.js';

/** AES-256-GCM with a throwaway key: the keyring's private keys are sealed for real in tests. */
export function testSealer(): SecretSealer {
  const key = randomBytes(32);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    async open(sealed, context) {
      await Promise.resolve();
      const blob = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12), {
        authTagLength: 16,
      })
        .setAAD(Buffer.from(context))
        .setAuthTag(blob.subarray(12, 28));
      return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString();
    },
  };
}
