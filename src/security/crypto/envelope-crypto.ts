import type { KeyObject } from 'node:crypto';
import { ivLength, open, sealInto } from './aes-gcm.js';
import {
  additionalData,
  bodyOffset,
  ciphertextFromText,
  ciphertextToText,
  headerLength,
  ivOffset,
  overhead,
  parseCiphertext,
  tagOffset,
  writeHeader,
  type ParsedCiphertext,
} from './ciphertext.js';
import { messageOf, type DataKeyVault, type NewDataKey } from './data-key-vault.js';
import type { CryptoStatus, EnvelopeCrypto, RetireResult, RewrapResult } from './envelope-types.js';
import { CryptoError, DecryptionError } from './errors.js';
import type { CryptoLogger } from './types.js';

/**
 * Encryptions per data key: 2^31, half the NIST SP 800-38D limit of 2^32 for random 96-bit IVs
 * (the chance that two IVs collide stays near 2^-35).
 */
export const defaultMaxUsesPerDataKey = 2 ** 31;

interface DataKeyInUse extends NewDataKey {
  /** Encryptions made with it; in memory only, since no other process or later start uses it. */
  uses: number;
}

/** The hot path: encrypts with this process's data key, rolls it over, decrypts from memory. */
export class Envelope implements EnvelopeCrypto {
  private active: DataKeyInUse | undefined;
  private next: DataKeyInUse | undefined;
  /** Storing the next data key, when that is in progress. */
  private preparing: Promise<void> | undefined;
  private closed = false;
  /** Storing the next data key starts at this many uses of the current one. */
  private readonly prepareAt: number;

  constructor(
    private readonly vault: DataKeyVault,
    private readonly logger: CryptoLogger,
    private readonly maxUses: number,
  ) {
    // With 2^31 uses, the next key is stored about 268 million encryptions before it is needed.
    this.prepareAt = maxUses - Math.max(1, Math.floor(maxUses / 8));
  }

  /** Makes this process's first data key; called once by `openCrypto`. */
  async start(): Promise<void> {
    this.active = { ...(await this.vault.createDataKey()), uses: 0 };
    if (this.prepareAt <= 0) this.prepareNext();
  }

  encrypt(plaintext: Uint8Array | string, context: string): Buffer {
    checkContext(context);
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const dataKey = this.takeDataKey();
    const out = Buffer.allocUnsafe(overhead + data.length);
    writeHeader(out, dataKey.idBytes);
    const iv = this.vault.randomBytes(ivLength);
    out.set(iv, ivOffset);
    const aad = additionalData(out.subarray(0, headerLength), context);
    sealInto(dataKey.key, iv, aad, data, out, bodyOffset, tagOffset);
    return out;
  }

  encryptText(plaintext: Uint8Array | string, context: string): string {
    return ciphertextToText(this.encrypt(plaintext, context));
  }

  decrypt(blob: Uint8Array, context: string): Buffer {
    checkContext(context);
    this.checkOpen();
    const parsed = parseCiphertext(blob);
    const key = this.vault.dataKey(parsed.dataKeyId);
    if (!key) {
      throw new DecryptionError(
        'unknown-data-key',
        `the ciphertext of ${context} needs data key ${parsed.dataKeyId}, which this process ` +
          'has not loaded (decryptAsync loads it from the store)',
      );
    }
    return openWith(key, parsed, context);
  }

  decryptText(text: string, context: string): string {
    return this.decrypt(ciphertextFromText(text), context).toString('utf8');
  }

  async decryptAsync(blob: Uint8Array, context: string): Promise<Buffer> {
    checkContext(context);
    this.checkOpen();
    const { dataKeyId } = parseCiphertext(blob);
    if (!this.vault.dataKey(dataKeyId)) await this.vault.loadDataKey(dataKeyId, context);
    return this.decrypt(blob, context);
  }

  rotateMaster(): Promise<RewrapResult> {
    this.checkOpen();
    return this.vault.rotateMaster();
  }

  rewrap(): Promise<RewrapResult> {
    this.checkOpen();
    return this.vault.rewrap();
  }

  retireMasterVersions(): Promise<RetireResult> {
    this.checkOpen();
    return this.vault.retireMasterVersions();
  }

  status(): CryptoStatus {
    this.checkOpen();
    const active = this.active;
    const masters = this.vault.masterKeys;
    return {
      masterKeyFile: this.vault.keyFile,
      masterVersion: masters.active,
      masterVersions: [...masters.keys.keys()].sort((a, b) => a - b),
      dataKeys: this.vault.dataKeyCount,
      dataKeysByMasterVersion: this.vault.countByMasterVersion(),
      activeDataKey: active?.id ?? null,
      activeDataKeyUses: active?.uses ?? 0,
      maxUsesPerDataKey: this.maxUses,
      nextDataKeyReady: this.next !== undefined,
    };
  }

  async flush(): Promise<void> {
    await this.preparing;
    await this.vault.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.active = undefined;
    this.next = undefined;
    await this.preparing;
    await this.vault.close();
  }

  /** The data key for one encryption: counts the use, rolls over, starts storing the next. */
  private takeDataKey(): DataKeyInUse {
    let dataKey = this.requireActive();
    if (dataKey.uses >= this.maxUses) {
      const next = this.next;
      if (!next) {
        this.prepareNext();
        throw new CryptoError(
          'data_key_unavailable',
          `data key ${dataKey.id} has made its ${this.maxUses} encryptions and the next data ` +
            'key is not stored yet',
        );
      }
      this.logger.info({ previous: dataKey.id, dataKey: next.id }, 'data key rolled over');
      this.active = next;
      this.next = undefined;
      dataKey = next;
    }
    dataKey.uses += 1;
    if (dataKey.uses >= this.prepareAt) this.prepareNext();
    return dataKey;
  }

  /** Stores the next data key in the background, so the rollover itself never waits. */
  private prepareNext(): void {
    if (this.next || this.preparing || this.closed) return;
    this.preparing = this.vault
      .createDataKey()
      .then((dataKey) => {
        if (!this.closed) this.next = { ...dataKey, uses: 0 };
      })
      .catch((error: unknown) => {
        this.logger.error(
          { error: messageOf(error) },
          'could not store the next data key; trying again at the next encryption',
        );
      })
      .finally(() => {
        this.preparing = undefined;
      });
  }

  private requireActive(): DataKeyInUse {
    this.checkOpen();
    if (!this.active) {
      throw new CryptoError(
        'data_key_unavailable',
        'encryption is not available here: opened to decrypt only (readOnly)',
      );
    }
    return this.active;
  }

  private checkOpen(): void {
    if (this.closed) throw new CryptoError('data_key_unavailable', 'encryption is closed');
  }
}

function openWith(key: KeyObject, parsed: ParsedCiphertext, context: string): Buffer {
  const aad = additionalData(parsed.header, context);
  const plaintext = open(key, parsed.iv, parsed.tag, aad, parsed.body);
  if (!plaintext) {
    throw new DecryptionError(
      'authentication-failed',
      `the ciphertext of ${context} failed authentication under data key ${parsed.dataKeyId}: ` +
        'it belongs to another record, or it was altered',
    );
  }
  return plaintext;
}

function checkContext(context: string): void {
  if (typeof context !== 'string' || context === '') {
    throw new TypeError(
      'a non-empty context naming the record (such as "messages:<id>") is required',
    );
  }
}
