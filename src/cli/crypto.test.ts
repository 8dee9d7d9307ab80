import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'assistd-cli-crypto-'));

function cli(args: string[]) {
  return runCliCaptured([...args, '--data-dir', dataDir], { cwd: dataDir });
}

describe('assistd crypto', () => {
  it('rotates the master key without losing the sealed signing keys, then retires the old version', async () => {
    expect((await cli(['keys', 'generate'])).code).toBe(0);
    const keyFile = join(dataDir, 'master.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^v1:/m);

    const rotated = await cli(['crypto', 'rotate-master']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toMatch(/master key is now version 2; re-wrapped \d+ data keys/);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^v2:/m);

    // The private key sealed under the old master version still opens: a token can be signed.
    const issued = await cli(['tokens', 'issue', '--principal', 'alice']);
    expect(issued.code, issued.stderr).toBe(0);

    expect((await cli(['crypto', 'retire-old-masters'])).code).toBe(0);
    expect(readFileSync(keyFile, 'utf8')).not.toMatch(/^v1:/m);
    expect((await cli(['tokens', 'issue', '--principal', 'bob'])).code).toBe(0);

    const status = await cli(['crypto', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ masterVersion: 2, masterVersions: [2] });
  });
});
