import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import {
  parseMasterKeys,
  readMasterKeys,
  withMasterKeyLock,
  writeMasterKeys,
} from './master-key-file.js';

const line = (version: number) => `v${version}:${randomBytes(32).toString('base64')}`;

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return error instanceof CryptoError ? error.code : 'not a CryptoError';
  }
}

describe('master key file format', () => {
  it('reads versions, comments, blank lines and CRLF; the highest version is active', () => {
    const keys = parseMasterKeys(`# keys\r\n\r\n${line(2)}\r\n  ${line(10)}  \n${line(3)}\n`, 'f');
    expect([...keys.keys.keys()]).toEqual([2, 10, 3]);
    expect(keys.active).toBe(10);
  });

  it.each([
    ['no key line', '# only a comment\n'],
    ['a key of 31 bytes', `v1:${randomBytes(31).toString('base64')}`],
    ['a key of 33 bytes', `v1:${randomBytes(33).toString('base64')}`],
    ['version 0', `v0:${randomBytes(32).toString('base64')}`],
    ['a leading zero', `v01:${randomBytes(32).toString('base64')}`],
    ['a missing "v"', `1:${randomBytes(32).toString('base64')}`],
    ['base64url characters', `v1:${'_'.repeat(43)}=`],
    ['a duplicate version', `${line(1)}\n${line(1)}`],
    ['a version too large', `v4294967296:${randomBytes(32).toString('base64')}`],
  ])('refuses %s', (_name, text) => {
    expect(codeOf(() => parseMasterKeys(text, 'f'))).toBe('master_key_format');
  });

  it('names the line but never echoes the key', () => {
    const secret = randomBytes(31).toString('base64');
    let message = '';
    try {
      parseMasterKeys(`${line(1)}\nv2:${secret}\n`, '/etc/assistd/master.key');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('/etc/assistd/master.key, line 2');
    expect(message).not.toContain(secret);
  });
});

describe('master key file on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'assistd-mk-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const readCode = async (path: string, allowGroupReadable = false) => {
    try {
      await readMasterKeys(path, { allowGroupReadable });
      return 'read';
    } catch (error) {
      return (error as CryptoError).code;
    }
  };

  it.skipIf(process.platform === 'win32')(
    'accepts 0600 and 0400, refuses wider modes',
    async () => {
      const path = join(dir, 'keys');
      await writeFile(path, `${line(1)}\n`, { mode: 0o600 });
      expect(await readCode(path)).toBe('read');
      await chmod(path, 0o400);
      expect(await readCode(path)).toBe('read');
      for (const mode of [0o644, 0o604, 0o640, 0o620, 0o660]) {
        await chmod(path, mode);
        expect(await readCode(path)).toBe('master_key_permissions');
      }
      await chmod(path, 0o640);
      expect(await readCode(path, true)).toBe('read');
      await chmod(path, 0o660);
      expect(await readCode(path, true)).toBe('master_key_permissions');
    },
  );

  it('says which file is missing or not a file', async () => {
    const missing = join(dir, 'nope');
    await expect(readMasterKeys(missing)).rejects.toThrow(`cannot read master key file ${missing}`);
    expect(await readCode(dir)).toBe('master_key_file');
  });

  it('writes atomically with mode 0600 and reads back the same keys', async () => {
    const path = join(dir, 'keys');
    await writeFile(path, `${line(1)}\n`, { mode: 0o600 });
    const keys = parseMasterKeys(`${line(1)}\n${line(2)}\n`, 'f');
    await writeMasterKeys(path, keys.keys);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const back = await readMasterKeys(path);
    expect(back.active).toBe(2);
    for (const version of [1, 2]) {
      expect(back.keys.get(version)!.export().equals(keys.keys.get(version)!.export())).toBe(true);
    }
    expect(await readFile(path, 'utf8')).toMatch(/^# assistd master keys/);
  });

  it('writes through a symbolic link to the real file', async () => {
    const real = join(dir, 'real');
    const link = join(dir, 'link');
    await writeFile(real, `${line(1)}\n`, { mode: 0o600 });
    await symlink(real, link);
    await writeMasterKeys(link, parseMasterKeys(`${line(7)}\n`, 'f').keys);
    expect((await readMasterKeys(real)).active).toBe(7);
  });

  it('lets one key file operation run at a time', async () => {
    const path = join(dir, 'keys');
    await writeFile(path, `${line(1)}\n`, { mode: 0o600 });
    const inner = await withMasterKeyLock(path, async () => {
      try {
        await withMasterKeyLock(path, async () => 'ran');
        return 'ran';
      } catch (error) {
        return (error as CryptoError).code;
      }
    });
    expect(inner).toBe('master_key_locked');
    expect(await withMasterKeyLock(path, async () => 'ran')).toBe('ran');
  });
});
