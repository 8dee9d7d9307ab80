import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/support/cli.js';

describe('assistd backup / restore', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'assistd-backup-cli-'));
  const models = join(dataDir, 'models');
  mkdirSync(join(models, 'sub'), { recursive: true });
  const weights = randomBytes(1_500_000);
  writeFileSync(join(models, 'model.gguf'), weights);
  writeFileSync(join(models, 'sub', 'notes.txt'), 'hello');
  const cli = (...args: string[]) =>
    runCliCaptured([...args, '--data-dir', dataDir], { cwd: dataDir });

  it('backs up, lists, verifies, restores and prunes, recording the operations', async () => {
    const first = await cli('backup', 'models');
    expect(first.code, first.stderr).toBe(0);
    const id = first.stdout.trim();
    expect(first.stderr).toMatch(/2 files, .*0 unchanged, \d+ new chunks/);
    const second = await cli('backup', 'models');
    expect(second.stderr).toMatch(/2 unchanged, 0 new chunks, 0 bytes uploaded/);
    // Each writer stores a data key; readers (list, verify, restore) store none.
    const dataKeys = () => readdirSync(join(dataDir, 'objects', 'keys')).length;
    const written = dataKeys();

    const listed = await cli('backup', 'list', '--json');
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; files: number; bytes: number }>;
    expect(rows.map((row) => row.id)).toContain(id);
    expect(rows[0]).toMatchObject({ files: 2, bytes: weights.length + 5 });

    const verified = await cli('backup', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/2 snapshots, \d+ chunks .*: ok/);

    const target = join(dataDir, 'restored');
    const restored = await cli('restore', 'models', '--snapshot', id, '--to', 'restored');
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(target, 'model.gguf')).equals(weights)).toBe(true);
    expect(readFileSync(join(target, 'sub', 'notes.txt'), 'utf8')).toBe('hello');
    // A folder that is not empty, or an unknown snapshot: refused with exit 2, nothing written.
    const again = await cli('restore', 'models', '--snapshot', id, '--to', 'restored');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty/);
    const unknown = await cli('restore', 'models', '--snapshot', 'nope', '--to', 'elsewhere');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no snapshot nope/);
    expect(dataKeys()).toBe(written);

    const pruned = await cli('backup', 'prune', '--keep-daily', '1');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stderr).toMatch(/kept 1 snapshots, removed 1/);

    const audit = await cli('audit', 'tail', '--json');
    const actions = audit.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions.filter((action) => action === 'create:backup')).toHaveLength(2);
    expect(actions).toContain('delete:backup');
  }, 60_000);

  it('exits 1 when verify finds a damaged chunk', async () => {
    const chunkDir = join(dataDir, 'objects', 'chunks');
    const prefix = readdirSync(chunkDir)[0]!;
    const name = readdirSync(join(chunkDir, prefix))[0]!;
    writeFileSync(join(chunkDir, prefix, name), randomBytes(64));
    const verified = await cli('backup', 'verify');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`problem: chunk ${name}`);
  });

  it('says what is wrong with a folder that is not there', async () => {
    const missing = await cli('backup', 'models', '--folder', join(dataDir, 'absent'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a folder/);
  });

  it('lists the readable snapshots past a damaged one, backs up past it, and prune refuses it', async () => {
    const id = (await cli('backup', 'models', '--folder', models)).stdout.trim();
    // Another snapshot's ciphertext under this id: it fails authentication.
    const snapshots = join(dataDir, 'objects', 'snapshots');
    const other = readdirSync(snapshots).find((name) => name !== id)!;
    writeFileSync(join(snapshots, id), readFileSync(join(snapshots, other)));

    const listed = await cli('backup', 'list');
    expect(listed.code).toBe(1);
    expect(listed.stdout).toContain(other);
    expect(listed.stdout).not.toContain(id);
    expect(listed.stderr).toContain(
      `problem: snapshot ${id}: the ciphertext of backup-snapshot:${id}`,
    );
    expect(listed.stderr).not.toMatch(/\n\s+at /);

    const next = await cli('backup', 'models', '--folder', models);
    expect(next.code, next.stderr).toBe(0);
    const pruned = await cli('backup', 'prune', '--keep-daily', '1');
    expect(pruned.code).toBe(1);
    expect(pruned.stderr).toContain(`snapshot ${id} cannot be read`);
    expect(pruned.stderr).toContain(`remove snapshots/${id}`);
    expect(readdirSync(snapshots)).toContain(id);
  });

  it('says in one line that an S3 object store cannot be reached', async () => {
    const config = join(dataDir, 's3-down.yaml');
    writeFileSync(
      config,
      'object_store:\n  s3:\n    bucket: nowhere\n    endpoint: http://127.0.0.1:9\n' +
        '    access_key_id: x\n    secret_access_key_file: ' +
        join(dataDir, 'secret') +
        '\n',
    );
    writeFileSync(join(dataDir, 'secret'), 'y', { mode: 0o600 });
    for (const command of [
      ['backup', 'list'],
      ['backup', 'models', '--folder', models],
    ]) {
      const run = await cli(...command, '--config', config);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^assistd: the object store cannot be reached \(ECONNREFUSED/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
