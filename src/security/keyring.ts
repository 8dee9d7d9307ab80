import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from '../util/jose.js';
import type { SigningKeyRecord, SigningKeyStore } from '../storage/types.js';
import type { Clock } from '../util/ids.js';
import type { SigningPeriod } from './audit/verify.js';

/**
 * Encrypts secrets at rest; `context` is bound to the ciphertext (the row it belongs to). `open`
 * is asynchronous: what another process sealed may need its data key read from the store.
 */
export interface SecretSealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): Promise<string>;
}

export type KeyStatus = 'active' | 'verifying-only' | 'retired';

/** A key as `keys list` and the admin API show it. */
export interface KeyView {
  kid: string;
  source: 'generated' | 'imported';
  status: KeyStatus;
  createdAt: number;
  /** When it stops (or stopped) signing; undefined for imported keys. */
  signsUntil: number | undefined;
  /** When it stops verifying; undefined: until retired by hand. */
  expiresAt: number | undefined;
  retiredAt: number | undefined;
}

export interface KeyringOptions {
  store: SigningKeyStore;
  sealer: SecretSealer;
  clock?: Clock;
  /** How long a key signs before the next rotation (90 days by default). */
  rotationMs: number;
  /** Longest token lifetime: how long a key keeps verifying after it stopped signing. */
  maxTokenTtlMs: number;
}

/** How long before its signing period ends a key is rotated (see `ensureCurrent`). */
export const rotationLeadMs = 2 * 3_600_000;

/** A problem with a key operation the caller can fix (bad PEM, unknown kid…). */
export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

interface LoadedKey {
  record: SigningKeyRecord;
  publicKey: KeyObject;
}

/** A stored key that cannot be used (its public key does not parse), with the reason. */
export interface UnusableKey {
  kid: string;
  reason: string;
}

const sealContext = (kid: string) => `signing_keys:${kid}`;

/**
 * The public keys of the signing keys this server made, retired ones included (they verify old
 * audit checkpoints). A row counts only when its sealed private key opens with the master key
 * and is the private half of the row's public key: a row someone wrote into the database without
 * the master key (to sign checkpoints of a rewritten log) is left out. Imported keys belong to
 * other issuers and never count.
 */
export async function provenSigningKeys(
  store: SigningKeyStore,
  sealer: SecretSealer,
): Promise<ProvenKeys> {
  const keys = new Map<string, KeyObject>();
  const periods = new Map<string, SigningPeriod>();
  for (const record of await store.list()) {
    if (record.source !== 'generated' || record.privateKeySealed === undefined) continue;
    try {
      const pem = await sealer.open(record.privateKeySealed, sealContext(record.kid));
      const derived = createPublicKey(createPrivateKey(pem));
      const stored = createPublicKey(record.publicKeyPem);
      const der = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
      if (!der(derived).equals(der(stored))) continue;
      keys.set(record.kid, stored);
      // It signed from its creation until it was rotated out or retired, whichever came first.
      const ends = [record.signsUntil, record.retiredAt].filter((end) => end !== undefined);
      periods.set(record.kid, {
        from: record.createdAt,
        until: ends.length === 0 ? undefined : Math.min(...ends),
      });
    } catch {
      // Not sealed under this master key, or damaged: not a key this server can vouch for.
    }
  }
  return { keys, periods };
}

/** This server's signing keys, and when each one signed (audit verification). */
export interface ProvenKeys {
  keys: Map<string, KeyObject>;
  periods: Map<string, SigningPeriod>;
}

/**
 * The RSA-2048 signing keys. Exactly one generated key signs at a time (`active`); when it is
 * rotated (every `rotationMs`, or by hand) it stops signing but keeps verifying
 * (`verifying-only`) until every token it signed has expired — at most `maxTokenTtlMs` later —
 * and is then `retired`. Imported public keys verify tokens of an external issuer until retired by
 * hand. Private keys are stored sealed (encrypted) and opened only to sign.
 */
export class Keyring {
  private readonly clock: Clock;
  private keys = new Map<string, LoadedKey>();
  private signing: { kid: string; key: KeyObject } | undefined;
  private lastReloadWall = 0;
  /** Keys of the store that `load` had to leave out, with why. */
  unusable: UnusableKey[] = [];

  constructor(private readonly options: KeyringOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Reads the keyring from the store (again). A key whose public key does not parse (a damaged
   * row) is left out and listed in `unusable`: it verifies nothing, and the others still work.
   */
  async load(): Promise<void> {
    const records = await this.options.store.list();
    const keys = new Map<string, LoadedKey>();
    const unusable: UnusableKey[] = [];
    for (const record of records) {
      try {
        keys.set(record.kid, { record, publicKey: createPublicKey(record.publicKeyPem) });
      } catch (error) {
        unusable.push({
          kid: record.kid,
          reason: `its public key does not parse: ${(error as Error).message}`,
        });
      }
    }
    this.keys = keys;
    this.unusable = unusable;
    this.lastReloadWall = Date.now();
  }

  list(): KeyView[] {
    const now = this.clock();
    const active = this.activeRecord(now)?.kid;
    return [...this.keys.values()].map(({ record }) => ({
      kid: record.kid,
      source: record.source,
      status: this.statusOf(record, now, active),
      createdAt: record.createdAt,
      signsUntil: record.signsUntil,
      expiresAt: this.verifiesUntil(record),
      retiredAt: record.retiredAt,
    }));
  }

  /** Makes the first signing key; refuses when one is active (`rotate` replaces it). */
  async generate(): Promise<KeyView> {
    await this.load();
    const active = this.activeRecord(this.clock());
    if (active) {
      throw new KeyringError(
        `key ${active.kid} is already signing; "assistd keys rotate" replaces it with a new one`,
      );
    }
    return this.rotateLoaded();
  }

  /**
   * A new key signs from now on; the previous one verifies until its last tokens expire. Returns
   * the new key (or, when another process rotated at the same moment, the key it made).
   */
  async rotate(): Promise<KeyView> {
    await this.load();
    return this.rotateLoaded();
  }

  /** `rotate` over the keys just read from the store. */
  private async rotateLoaded(): Promise<KeyView> {
    const now = this.clock();
    const previous = this.activeRecord(now)?.kid;
    const next = await this.newKey(now);
    const rotated = await this.options.store.rotate(
      previous,
      next,
      now,
      now + this.options.maxTokenTtlMs,
    );
    await this.load();
    const kid = rotated ? next.kid : this.activeRecord(this.clock())?.kid;
    const view = this.list().find((key) => key.kid === kid);
    if (!view) throw new Error('the keyring has no active key after a rotation');
    return view;
  }

  /**
   * Makes the first key, or rotates one that is past its signing period or within
   * `rotationLeadMs` of its end; returns what it did. The lead is more than the upkeep's hour
   * between checks (security/key-upkeep.ts), so a key never runs out between two: until the
   * next, tokens could not be issued (503) and no audit checkpoint signed.
   */
  async ensureCurrent(): Promise<'unchanged' | 'generated' | 'rotated'> {
    await this.load();
    const now = this.clock();
    const active = this.activeRecord(now);
    const lead = Math.min(rotationLeadMs, this.options.rotationMs / 4);
    if (active && (active.signsUntil ?? Infinity) - now > lead) return 'unchanged';
    const hadKey = [...this.keys.values()].some(({ record }) => record.source === 'generated');
    await this.rotateLoaded();
    return hadKey ? 'rotated' : 'generated';
  }

  /** Adds a public key made elsewhere (SPKI or PKCS#1 PEM, RSA ≥ 2048 bits); it only verifies. */
  async importPublic(pem: string, kid?: string): Promise<KeyView> {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(pem);
    } catch (error) {
      throw new KeyringError(`not a PEM public key: ${(error as Error).message}`);
    }
    const details = publicKey.asymmetricKeyDetails;
    if (publicKey.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048) {
      throw new KeyringError('only RSA public keys of at least 2048 bits can be imported (RS256)');
    }
    const id = kid ?? (await thumbprint(publicKey));
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) {
      throw new KeyringError('a kid is 1–128 letters, digits, ".", "_" or "-"');
    }
    await this.load();
    if (this.keys.has(id)) throw new KeyringError(`the keyring already has a key ${id}`);
    await this.options.store.insert({
      kid: id,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateKeySealed: undefined,
      source: 'imported',
      createdAt: this.clock(),
      signsUntil: undefined,
      verifiesUntil: undefined,
      retiredAt: undefined,
    });
    await this.load();
    return this.list().find((key) => key.kid === id)!;
  }

  async retire(kid: string): Promise<void> {
    if (!(await this.options.store.retire(kid, this.clock()))) {
      throw new KeyringError(`no key ${kid} that is not already retired`);
    }
    await this.load();
  }

  /**
   * The key that signs now, with its private key opened. The store is reread first, so a key
   * rotated or retired by the CLI or another replica counts at once (signing is rare: tokens
   * issued, audit checkpoints; the private key itself is opened once per key).
   */
  async signingKey(): Promise<{ kid: string; key: KeyObject }> {
    await this.load();
    const record = this.activeRecord(this.clock());
    if (!record) {
      throw new KeyringError('no signing key is active; run "assistd keys generate"');
    }
    if (this.signing?.kid === record.kid) return this.signing;
    let key: KeyObject;
    try {
      const pem = await this.options.sealer.open(record.privateKeySealed!, sealContext(record.kid));
      key = createPrivateKey(pem);
    } catch (error) {
      throw new KeyringError(
        `the private key of signing key ${record.kid} cannot be opened (${(error as Error).message}); ` +
          '"assistd keys rotate" replaces it',
      );
    }
    this.signing = { kid: record.kid, key };
    return this.signing;
  }

  /** `provenSigningKeys` over this keyring's store and sealer (audit verification). */
  provenKeys(): Promise<ProvenKeys> {
    return provenSigningKeys(this.options.store, this.options.sealer);
  }

  /** The kid that signs now (without opening its private key); undefined when none does. */
  activeKid(): string | undefined {
    return this.activeRecord(this.clock())?.kid;
  }

  /**
   * The public key for `kid` when it may verify now. An unknown kid makes the keyring reread the
   * store, so keys rotated or imported by the CLI count at once; rereads are spaced at least
   * 100 ms apart (a caller waits for the next one), so tokens with made-up kids cannot turn
   * every request into a store read.
   */
  async verificationKey(
    kid: string,
  ): Promise<{ publicKey: KeyObject; source: KeyView['source'] } | undefined> {
    let loaded = this.keys.get(kid);
    if (!loaded) {
      await this.reloadSoon();
      loaded = this.keys.get(kid);
    }
    if (!loaded) return undefined;
    return this.statusOf(loaded.record, this.clock(), undefined) === 'retired'
      ? undefined
      : { publicKey: loaded.publicKey, source: loaded.record.source };
  }

  /** Whether `kid` is loaded and verifies now (no store read: for tokens verified before). */
  trusts(kid: string): boolean {
    const loaded = this.keys.get(kid);
    return (
      loaded !== undefined && this.statusOf(loaded.record, this.clock(), undefined) !== 'retired'
    );
  }

  /** The JWKS document: every key that verifies now. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const now = this.clock();
    const keys: JWK[] = [];
    for (const { record, publicKey } of this.keys.values()) {
      if (this.statusOf(record, now, undefined) === 'retired') continue;
      keys.push({ ...(await exportJWK(publicKey)), kid: record.kid, alg: 'RS256', use: 'sig' });
    }
    return { keys };
  }

  private reloading: Promise<void> | undefined;

  /** One shared reread at most every 100 ms (wall clock, not the injected one). */
  private reloadSoon(): Promise<void> {
    this.reloading ??= (async () => {
      const wait = this.lastReloadWall + 100 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.load();
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private activeRecord(now: number): SigningKeyRecord | undefined {
    let best: SigningKeyRecord | undefined;
    for (const { record } of this.keys.values()) {
      const signs =
        record.retiredAt === undefined &&
        record.privateKeySealed !== undefined &&
        record.signsUntil !== undefined &&
        record.signsUntil > now;
      if (signs && (!best || record.createdAt > best.createdAt)) best = record;
    }
    return best;
  }

  private statusOf(record: SigningKeyRecord, now: number, active: string | undefined): KeyStatus {
    const until = this.verifiesUntil(record);
    if (record.retiredAt !== undefined || (until !== undefined && until <= now)) return 'retired';
    return record.kid === active ? 'active' : 'verifying-only';
  }

  /** A generated key verifies until its last possible token expires. */
  private verifiesUntil(record: SigningKeyRecord): number | undefined {
    if (record.verifiesUntil !== undefined) return record.verifiesUntil;
    if (record.signsUntil === undefined) return undefined;
    return record.signsUntil + this.options.maxTokenTtlMs;
  }

  private async newKey(now: number): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = await thumbprint(publicKey);
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return {
      kid,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateKeySealed: this.options.sealer.seal(pem, sealContext(kid)),
      source: 'generated',
      createdAt: now,
      signsUntil: now + this.options.rotationMs,
      verifiesUntil: undefined,
      retiredAt: undefined,
    };
  }
}

/** RFC 7638 thumbprint: the same key always gets the same kid. */
async function thumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key), 'sha256');
}
