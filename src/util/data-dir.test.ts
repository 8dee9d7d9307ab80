import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDataDir } from './data-dir.js';

const temp = () => mkdtempSync(join(tmpdir(), 'assistd-data-dir-'));

describe('ensureDataDir', () => {
  it('makes the missing folders, mode 0700, and accepts one that exists', () => {
    const dir = join(temp(), 'a', 'b', 'data');
    ensureDataDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(() => ensureDataDir(dir)).not.toThrow();
  });

  it('names a file that is in the way', () => {
    const file = join(temp(), 'plain');
    writeFileSync(file, 'x');
    expect(() => ensureDataDir(file)).toThrow(
      `the data dir ${file} cannot be used: ${file} is a file, not a folder (--data-dir, ASSISTD_DATA_DIR)`,
    );
    expect(() => ensureDataDir(join(file, 'sub'))).toThrow(
      'a part of its path is a file, not a folder',
    );
  });

  it.runIf(process.platform === 'linux')(
    'refuses a folder under /proc at once (a recursive mkdir there never returns)',
    () => {
      expect(() => ensureDataDir('/proc/assistd-test/data')).toThrow(
        /^the data dir \/proc\/assistd-test\/data cannot be used: /,
      );
    },
  );
});
