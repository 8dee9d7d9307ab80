import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ciphertextFromText, overhead } from './ciphertext.js';
import { MemoryDataKeyStore, type WrappedDataKey } from './data-key-store.js';
import type { EnvelopeCrypto } from './envelope-types.js';
import { CryptoError, DecryptionError } from './errors.js';
import { openCrypto, type OpenCryptoOptions } from './open-crypto.js';
import type { CryptoLogger } from './types.js';

interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

function recordingLogger(): CryptoLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: object, message: string) => {
    lines.push({ level, fields, message });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Fails inserts on demand, like a full disk. */
class FlakyStore extends MemoryDataKeyStore {
  failInserts = false;

  override async insert(key: WrappedDataKey): Promise<void> {
    if (this.failInserts) throw new Error('disk full');
    return super.insert(key);
  }
}

const keyLine = (version: number) => `v${version}:${randomBytes(32).toString('base64')}`;

/** Runs `work`, returning the error it throws (or fails the test if it does not). */
async function failure(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('envelope encryption', () => {
  let dir: string;
  let keyFile: string;
  let store: MemoryDataKeyStore;
  let logger: ReturnType<typeof recordingLogger>;
  const opened: EnvelopeCrypto[] = [];

  const open = async (options: Partial<OpenCryptoOptions> = {}) => {
    const crypto = await openCrypto({
      masterKeyFile: keyFile,
      dataDir: dir,
      store,
      logger,
      ...options,
    });
    opened.push(crypto);
    return crypto;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'assistd-crypto-'));
    keyFile = join(dir, 'keys');
    await writeFile(keyFile, `${keyLine(1)}\n`, { mode: 0o600 });
    store = new MemoryDataKeyStore();
    logger = recordingLogger();
  });
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((crypto) => crypto.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips bytes, strings and the text form', async () => {
    const crypto = await open();
    const bytes = randomBytes(1000);
    expect(crypto.decrypt(crypto.encrypt(bytes, 'messages:1'), 'messages:1')).toEqual(bytes);
    expect(crypto.decrypt(crypto.encrypt('', 'titles:1'), 'titles:1').length).toBe(0);
    const text = crypto.encryptText('héllo 👋', 'titles:conv_1');
    expect(text).toMatch(/^aenc:rl0B[A-Za-z0-9_-]+$/);
    expect(crypto.decryptText(text, 'titles:conv_1')).toBe('héllo 👋');
    expect(crypto.encrypt('x', 'c').length).toBe(overhead + 1);
  });

  it('uses a fresh IV every time', async () => {
    const crypto = await open();
    const a = crypto.encrypt('same', 'messages:1');
    const b = crypto.encrypt('same', 'messages:1');
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(11, 23).equals(b.subarray(11, 23))).toBe(false);
  });

  it('refuses ciphertext moved to another record', async () => {
    const crypto = await open();
    const blob = crypto.encrypt('secret', 'messages:msg_1');
    for (const context of ['messages:msg_2', 'titles:msg_1', 'messages:msg_1 ', 'messages:msg_']) {
      const error = await failure(() => crypto.decrypt(blob, context));
      expect(error).toBeInstanceOf(DecryptionError);
      expect((error as DecryptionError).reason).toBe('authentication-failed');
      expect(error.message).toContain(context);
    }
    expect(() => crypto.encrypt('secret', '')).toThrow(TypeError);
  });

  it('refuses altered ciphertext, IV, tag and header', async () => {
    const crypto = await open();
    const blob = crypto.encrypt('secret message', 'messages:1');
    const flip = (offset: number) => {
      const copy = Buffer.from(blob);
      copy[offset]! ^= 0x01;
      return copy;
    };
    const reasons = async (candidate: Buffer) =>
      ((await failure(() => crypto.decrypt(candidate, 'messages:1'))) as DecryptionError).reason;
    expect(await reasons(flip(overhead))).toBe('authentication-failed'); // ciphertext
    expect(await reasons(flip(blob.length - 1))).toBe('authentication-failed'); // ciphertext end
    expect(await reasons(flip(11))).toBe('authentication-failed'); // IV
    expect(await reasons(flip(23))).toBe('authentication-failed'); // tag
    expect(await reasons(flip(38))).toBe('authentication-failed'); // tag end
    expect(await reasons(flip(3))).toBe('unknown-data-key'); // data key id
    expect(await reasons(flip(2))).toBe('unsupported-format');
    expect(await reasons(flip(0))).toBe('not-ciphertext');
    expect(await reasons(Buffer.concat([blob, Buffer.from([0])]))).toBe('authentication-failed');
    expect(await reasons(blob.subarray(0, blob.length - 1))).toBe('authentication-failed');
  });

  it('refuses a 4-byte truncated tag', async () => {
    const crypto = await open();
    const blob = crypto.encrypt('secret message', 'messages:1');
    const header = blob.subarray(0, 23);
    const shortTag = blob.subarray(23, 27);
    const body = blob.subarray(overhead);
    // Header, IV and the first 4 tag bytes only.
    const cut = Buffer.concat([header, shortTag]);
    expect(
      ((await failure(() => crypto.decrypt(cut, 'messages:1'))) as DecryptionError).reason,
    ).toBe('truncated');
    // The 4-byte tag followed by the ciphertext: read as a 16-byte tag, it does not verify.
    const spliced = Buffer.concat([header, shortTag, body]);
    const error = await failure(() => crypto.decrypt(spliced, 'messages:1'));
    expect(error).toBeInstanceOf(DecryptionError);
  });

  it('refuses a store under a different master key, clearly', async () => {
    const first = await open();
    first.encrypt('x', 'messages:1');
    await first.close();
    await writeFile(keyFile, `${keyLine(1)}\n`, { mode: 0o600 });
    const error = await failure(() => open());
    expect(error).toBeInstanceOf(CryptoError);
    expect((error as CryptoError).code).toBe('master_key_mismatch');
    expect(error.message).toContain('does not decrypt under master key v1');
    expect(error.message).toContain(keyFile);
  });

  it('refuses a store whose data key needs a master version the file lacks', async () => {
    const before = await open();
    await before.rotateMaster();
    await before.close();
    // The file loses v2 (say, an old backup of it was restored).
    const lines = (await readFile(keyFile, 'utf8')).split('\n').filter((l) => !l.startsWith('v2:'));
    await writeFile(keyFile, lines.join('\n'), { mode: 0o600 });
    const error = await failure(() => open());
    expect((error as CryptoError).code).toBe('master_key_missing');
    expect(error.message).toMatch(
      /wrapped by master key v2, which .* does not hold \(it holds v1\)/,
    );
  });

  it('rotates the master key: re-wraps data keys, old ciphertext still decrypts', async () => {
    const crypto = await open();
    const blob = crypto.encrypt('before rotation', 'messages:1');
    const wrappedBefore = await store.list();

    expect(await crypto.rotateMaster()).toEqual({ rewrapped: 1, version: 2 });
    const after = await store.list();
    expect(after.map((key) => key.masterVersion)).toEqual([2]);
    expect(after[0]!.id).toBe(wrappedBefore[0]!.id);
    expect(Buffer.from(after[0]!.wrapped).equals(Buffer.from(wrappedBefore[0]!.wrapped))).toBe(
      false,
    );
    expect(after[0]!.createdAt).toBe(wrappedBefore[0]!.createdAt);
    expect((await readFile(keyFile, 'utf8')).match(/^v\d+:/gm)).toEqual(['v1:', 'v2:']);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(crypto.decrypt(blob, 'messages:1').toString()).toBe('before rotation');
    expect(crypto.status()).toMatchObject({ masterVersion: 2, masterVersions: [1, 2] });

    // A new process with the rotated file reads the old ciphertext, and so after retiring v1.
    const later = await open();
    expect(later.decrypt(blob, 'messages:1').toString()).toBe('before rotation');
    expect(await later.retireMasterVersions()).toEqual({ retired: [1], version: 2 });
    expect((await readFile(keyFile, 'utf8')).match(/^v\d+:/gm)).toEqual(['v2:']);
    const last = await open();
    expect(last.decrypt(blob, 'messages:1').toString()).toBe('before rotation');
    expect((await store.list()).every((key) => key.masterVersion === 2)).toBe(true);
  });

  it('will not retire a master version a data key still needs', async () => {
    const crypto = await open();
    const blob = crypto.encrypt('x', 'messages:1');
    // An operator adds v2 at the file's source (a mounted secret the process cannot write).
    await writeFile(keyFile, `${await readFile(keyFile, 'utf8')}${keyLine(2)}\n`);
    const error = await failure(() => crypto.retireMasterVersions());
    expect((error as CryptoError).code).toBe('master_key_in_use');
    expect(error.message).toContain('still wrapped by v1 (1)');
    expect((await readFile(keyFile, 'utf8')).match(/^v\d+:/gm)).toEqual(['v1:', 'v2:']);

    expect(await crypto.rewrap()).toEqual({ rewrapped: 1, version: 2 });
    expect(await crypto.retireMasterVersions()).toEqual({ retired: [1], version: 2 });
    expect((await open()).decrypt(blob, 'messages:1').toString()).toBe('x');
  });

  it('makes a new data key after N encryptions, storing it before it is needed', async () => {
    const crypto = await open({ maxUsesPerDataKey: 3 });
    const ids = () => new Set([...Array(3)].map(() => crypto.status().activeDataKey));
    const first = crypto.status().activeDataKey;
    const blobs = [1, 2, 3].map((n) => crypto.encrypt(`m${n}`, `messages:${n}`));
    await crypto.flush();
    expect(crypto.status()).toMatchObject({ activeDataKeyUses: 3, nextDataKeyReady: true });
    expect(await store.list()).toHaveLength(2);
    blobs.push(crypto.encrypt('m4', 'messages:4'));
    const second = crypto.status().activeDataKey;
    expect(second).not.toBe(first);
    expect(ids().size).toBe(1);
    const keyIds = blobs.map((blob) => blob.subarray(3, 11).toString('hex'));
    expect(keyIds).toEqual([first, first, first, second]);
    blobs.forEach((blob, index) => {
      expect(crypto.decrypt(blob, `messages:${index + 1}`).toString()).toBe(`m${index + 1}`);
    });
    expect(logger.lines.some((line) => line.message === 'data key rolled over')).toBe(true);
    // A new process never continues an old data key's count: it makes its own.
    const restarted = await open({ maxUsesPerDataKey: 3 });
    expect([first, second]).not.toContain(restarted.status().activeDataKey);
  });

  it('refuses to encrypt past the limit while the next data key is not stored, then recovers', async () => {
    const flaky = new FlakyStore();
    store = flaky;
    const crypto = await open({ maxUsesPerDataKey: 2 });
    flaky.failInserts = true;
    crypto.encrypt('a', 'c:1');
    crypto.encrypt('b', 'c:2');
    await crypto.flush();
    const error = await failure(() => crypto.encrypt('c', 'c:3'));
    expect((error as CryptoError).code).toBe('data_key_unavailable');
    await crypto.flush();
    expect(logger.lines.filter((line) => line.level === 'error').length).toBeGreaterThanOrEqual(1);
    flaky.failInserts = false;
    await failure(() => crypto.encrypt('c', 'c:3')); // starts another attempt
    await crypto.flush();
    expect(crypto.decrypt(crypto.encrypt('c', 'c:3'), 'c:3').toString()).toBe('c');
  });

  it('loads a data key made by another replica after open', async () => {
    const a = await open();
    const b = await open();
    const blob = b.encrypt('from b', 'messages:9');
    expect(((await failure(() => a.decrypt(blob, 'messages:9'))) as DecryptionError).reason).toBe(
      'unknown-data-key',
    );
    expect((await a.decryptAsync(blob, 'messages:9')).toString()).toBe('from b');
    expect(a.decrypt(blob, 'messages:9').toString()).toBe('from b');
    const orphan = Buffer.from(blob);
    orphan.fill(0xff, 3, 11);
    const error = await failure(() => a.decryptAsync(orphan, 'messages:9'));
    expect((error as DecryptionError).reason).toBe('unknown-data-key');
    expect(error.message).toContain('not in the store');
  });

  it('wraps new data keys under a version another process rotated in', async () => {
    const a = await open({ maxUsesPerDataKey: 1 });
    const b = await open();
    await b.rotateMaster();
    a.encrypt('x', 'c:1'); // uses up a's key; the next one is stored in the background
    await a.flush();
    a.encrypt('y', 'c:2');
    const versions = new Map((await store.list()).map((key) => [key.id, key.masterVersion]));
    expect(versions.get(a.status().activeDataKey!)).toBe(2);
  });

  it('never stores or emits the plaintext, the data keys or the master key', async () => {
    const drawn: Buffer[] = [];
    const random = (size: number) => {
      const bytes = randomBytes(size);
      drawn.push(Buffer.from(bytes));
      return bytes;
    };
    const crypto = await open({ random, maxUsesPerDataKey: 2 });
    const marker = `canary-${randomBytes(8).toString('hex')}`;
    const outputs: Buffer[] = [];
    for (const n of [0, 1, 2, 3]) {
      outputs.push(crypto.encrypt(`${marker} ${n}`, `messages:${n}`));
      await crypto.flush(); // two data keys are used: the limit is 2
    }
    const text = crypto.encryptText(marker, 'titles:1');
    await crypto.flush();
    await crypto.rotateMaster();

    const masterKeys = (await readFile(keyFile, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('v'))
      .map((l) => Buffer.from(l.slice(l.indexOf(':') + 1), 'base64'));
    const dataKeys = drawn.filter(
      (bytes) => bytes.length === 32 && !masterKeys.some((m) => m.equals(bytes)),
    );
    expect(dataKeys.length).toBeGreaterThanOrEqual(2);

    const stored = await store.list();
    const haystacks = [
      ...outputs,
      ciphertextFromText(text),
      Buffer.from(text),
      ...stored.map((key) => Buffer.from(key.wrapped)),
      Buffer.from(JSON.stringify(stored)),
      Buffer.from(JSON.stringify(logger.lines)),
    ];
    const needles = [
      Buffer.from(marker),
      Buffer.from('canary-'),
      ...dataKeys,
      ...masterKeys,
      ...[...dataKeys, ...masterKeys].map((key) => Buffer.from(key.toString('base64'))),
      ...[...dataKeys, ...masterKeys].map((key) => Buffer.from(key.toString('hex'))),
    ];
    for (const haystack of haystacks) {
      for (const needle of needles) expect(haystack.includes(needle)).toBe(false);
    }
  });

  it('generates <dataDir>/master.key with mode 0600 in a 0700 folder and warns', async () => {
    const dataDir = join(dir, 'data');
    const crypto = await open({ masterKeyFile: undefined, dataDir });
    const generated = join(dataDir, 'master.key');
    expect((await stat(generated)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await readFile(generated, 'utf8')).match(/^v\d+:/gm)).toEqual(['v1:']);
    const warning = logger.lines.find((line) => line.level === 'warn');
    expect(warning?.message).toContain('next to the data it protects');
    expect(warning?.fields).toEqual({ path: generated });
    const blob = crypto.encrypt('x', 'c:1');
    await crypto.close();

    logger.lines.length = 0;
    const again = await open({ masterKeyFile: undefined, dataDir });
    expect(again.decrypt(blob, 'c:1').toString()).toBe('x');
    expect(logger.lines.some((line) => line.message.includes('generated'))).toBe(false);

    // Losing the generated key must not silently produce a new one beside orphaned data keys.
    await again.close();
    await unlink(generated);
    const error = await failure(() => open({ masterKeyFile: undefined, dataDir }));
    expect((error as CryptoError).code).toBe('master_key_file');
    expect(error.message).toContain('does not exist');
  });

  it('refuses an explicit key file that is missing, malformed or readable by others', async () => {
    const missing = join(dir, 'missing.key');
    expect(((await failure(() => open({ masterKeyFile: missing }))) as CryptoError).code).toBe(
      'master_key_file',
    );
    await expect(stat(join(dir, 'master.key'))).rejects.toThrow(); // nothing generated instead

    await writeFile(keyFile, 'v1:not-base64\n');
    const format = (await failure(() => open())) as CryptoError;
    expect(format.code).toBe('master_key_format');
    expect(format.message).toContain(`${keyFile}, line 1`);

    await writeFile(keyFile, `${keyLine(1)}\n`);
    await chmod(keyFile, 0o644);
    const permissions = (await failure(() => open())) as CryptoError;
    expect(permissions.code).toBe('master_key_permissions');
    expect(permissions.message).toContain(`chmod 600 ${keyFile}`);
  });

  it('reports its status and stops after close', async () => {
    const crypto = await open({ clock: () => 1_234 });
    crypto.encrypt('x', 'c:1');
    expect(crypto.status()).toEqual({
      masterKeyFile: keyFile,
      masterVersion: 1,
      masterVersions: [1],
      dataKeys: 1,
      dataKeysByMasterVersion: { '1': 1 },
      activeDataKey: expect.stringMatching(/^[0-9a-f]{16}$/),
      activeDataKeyUses: 1,
      maxUsesPerDataKey: 2 ** 31,
      nextDataKeyReady: false,
    });
    expect((await store.list())[0]!.createdAt).toBe(1_234);
    await crypto.close();
    expect(((await failure(() => crypto.encrypt('x', 'c:1'))) as CryptoError).code).toBe(
      'data_key_unavailable',
    );
  });

  it('accepts a pino logger', async () => {
    const crypto = await open({ logger: pino({ level: 'silent' }) });
    expect(crypto.decrypt(crypto.encrypt('x', 'c'), 'c').toString()).toBe('x');
  });
});
