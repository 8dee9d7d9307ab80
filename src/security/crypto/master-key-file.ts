import { createSecretKey, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { keyLength } from './aes-gcm.js';
import { syncDirectory, writeTemporaryFile } from '../../util/durable-file.js';
import { CryptoError } from './errors.js';

/**
 * The master key file: UTF-8 text, one key per line.
 *
 * ```
 * # assistd master keys (AES-256). The highest version wraps new data keys.
 * v1:q8Yx...base64 of 32 bytes...=
 * v2:Jm3Z...base64 of 32 bytes...=
 * ```
 *
 * - A key line is `v<N>:<key>`: N a positive decimal integer without leading zeros (at most
 *   2^31 − 1), the key exactly 32 bytes in standard base64 with padding (44 characters).
 * - Blank lines and lines starting with `#` are ignored; surrounding spaces and CRLF endings are
 *   allowed. Versions are unique and there is at least one.
 * - The highest version is active: it wraps new data keys. Lower versions only unwrap data keys
 *   that still need them, until `retire` drops them.
 *
 * Generate a key line by hand with `printf 'v1:%s\n' "$(openssl rand -base64 32)"`.
 */
export interface MasterKeys {
  /** Version → AES-256 key. */
  readonly keys: ReadonlyMap<number, KeyObject>;
  /** The highest version. */
  readonly active: number;
}

/** Permission bits a master key file may never have: group write and any access by others. */
const alwaysForbidden = 0o027;
/** Group read, refused unless `allowGroupReadable`. */
const groupRead = 0o040;

const keyLinePattern = /^v([1-9][0-9]{0,9}):([A-Za-z0-9+/]{43}=)$/;
const maxVersion = 2 ** 31 - 1;

/** Parses the file's text; errors name the line, never the key. */
export function parseMasterKeys(text: string, path: string): MasterKeys {
  const keys = new Map<number, KeyObject>();
  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = keyLinePattern.exec(line);
    const where = `${path}, line ${index + 1}`;
    if (!match) {
      throw new CryptoError(
        'master_key_format',
        `${where}: expected "v<version>:<32 bytes in base64>" (44 characters after the colon)`,
      );
    }
    const version = Number(match[1]);
    const bytes = Buffer.from(match[2] ?? '', 'base64');
    if (version > maxVersion) {
      throw new CryptoError('master_key_format', `${where}: version ${version} is too large`);
    }
    if (bytes.length !== keyLength) {
      throw new CryptoError('master_key_format', `${where}: the key must be exactly 32 bytes`);
    }
    if (keys.has(version)) {
      throw new CryptoError('master_key_format', `${where}: version ${version} appears twice`);
    }
    keys.set(version, createSecretKey(bytes));
    bytes.fill(0);
  }
  if (keys.size === 0) {
    throw new CryptoError('master_key_format', `${path} holds no master key line ("v1:<base64>")`);
  }
  return { keys, active: Math.max(...keys.keys()) };
}

/** The file's text for `keys`, lowest version first. */
export function formatMasterKeys(keys: ReadonlyMap<number, KeyObject>): string {
  const versions = [...keys.keys()].sort((a, b) => a - b);
  const lines = [
    '# assistd master keys (AES-256). Keep this file secret: mode 0600, ideally in a secret store.',
    '# One "v<version>:<base64 of 32 bytes>" per line; the highest version wraps new data keys.',
    ...versions.map((version) => `v${version}:${keys.get(version)!.export().toString('base64')}`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface ReadMasterKeysOptions {
  /**
   * Accept group read permission (mode 0640/0440). Kubernetes secret volumes mounted with an
   * `fsGroup` get it; everything else should be 0600 or 0400. Default false.
   */
  allowGroupReadable?: boolean;
}

/**
 * Reads and checks a master key file. Refuses (does not merely warn) a file that others can read
 * or anyone but the owner can write, the way ssh refuses such a private key: a warning in a log
 * nobody reads protects nothing. On Windows, where modes mean little, the check is skipped.
 */
export async function readMasterKeys(
  path: string,
  options: ReadMasterKeysOptions = {},
): Promise<MasterKeys> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new CryptoError(
      'master_key_file',
      `cannot read master key file ${path}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  if (!info.isFile()) {
    throw new CryptoError('master_key_file', `master key file ${path} is not a regular file`);
  }
  if (process.platform !== 'win32') {
    const forbidden = alwaysForbidden | (options.allowGroupReadable ? 0 : groupRead);
    if ((info.mode & forbidden) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new CryptoError(
        'master_key_permissions',
        `master key file ${path} has mode ${mode}; only its owner may read it: chmod 600 ${path}`,
      );
    }
  }
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CryptoError(
      'master_key_file',
      `cannot read master key file ${path}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  return parseMasterKeys(text, path);
}

/** Identifies one version of the file on disk, to notice when another process rewrote it. */
export async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * Replaces the file atomically with mode 0600: write a temporary file beside it, fsync, rename,
 * fsync the directory. A crash leaves either the old or the new file, never half of one. A path
 * that is a symbolic link is written where it points.
 */
export async function writeMasterKeys(
  path: string,
  keys: ReadonlyMap<number, KeyObject>,
): Promise<void> {
  const target = await realpath(path);
  const temporary = await writeTemporary(target, formatMasterKeys(keys));
  try {
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new CryptoError('master_key_file', `cannot replace ${target}: ${describe(error)}`, {
      cause: error,
    });
  }
  await syncDirectory(dirname(target));
}

/**
 * Creates the file with mode 0600 only if it does not exist yet (write temporary, then `link`,
 * which fails when the name is taken), so two processes starting on one data folder cannot
 * generate two different keys. False when another process created it first.
 */
export async function createMasterKeysExclusive(
  path: string,
  keys: ReadonlyMap<number, KeyObject>,
): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = await writeTemporary(path, formatMasterKeys(keys));
  try {
    await link(temporary, path);
    await syncDirectory(dirname(path));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CryptoError('master_key_file', `cannot create ${path}: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Runs `work` holding `<file>.lock` (created exclusively), so two rotations cannot both append a
 * version and lose one of them. A crash can leave the lock behind; the error says how to clear it.
 */
export async function withMasterKeyLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  let lockPath;
  try {
    lockPath = `${await realpath(path)}.lock`;
  } catch (error) {
    throw new CryptoError(
      'master_key_file',
      `cannot find master key file ${path}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  let handle;
  try {
    handle = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CryptoError(
        'master_key_locked',
        `${lockPath} exists: another master key operation is running (if none is, delete the file)`,
      );
    }
    throw new CryptoError('master_key_file', `cannot create ${lockPath}: ${describe(error)}`, {
      cause: error,
    });
  }
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return await work();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function writeTemporary(path: string, text: string): Promise<string> {
  try {
    return await writeTemporaryFile(path, text);
  } catch (error) {
    throw new CryptoError('master_key_file', `cannot write beside ${path}: ${describe(error)}`, {
      cause: error,
    });
  }
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
