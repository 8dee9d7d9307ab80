import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { dataDirChecks, logFileCheck } from './data-dir-checks.js';
import { nodeVersionCheck } from './node-check.js';
import { portChecks, probeListen } from './port-check.js';
import { runChecks } from './runner.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-doctor-host-'));
afterAll(() => {
  chmodSync(folder, 0o700);
  rmSync(folder, { recursive: true, force: true });
});

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('host checks', () => {
  it('passes a free port and fails one in use, naming host:port', async () => {
    const { server, port } = await listening();
    try {
      const inUse = await probeListen('127.0.0.1', port);
      expect(inUse).toEqual({
        status: 'fail',
        detail: `127.0.0.1:${port} is already in use (another assistd, or another service)`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await probeListen('127.0.0.1', port)).status).toBe('pass');
    expect((await probeListen('192.0.2.1', port)).detail).toContain(
      'not an address of this machine',
    );
  });

  it('checks the metrics port only when metrics.listen is set', async () => {
    const { server, port } = await listening();
    try {
      const config = configSchema.parse({ port: 0, metrics: { listen: `127.0.0.1:${port}` } });
      const results = await runChecks(portChecks(config));
      expect(results.map((result) => result.status)).toEqual(['pass', 'fail']);
      const unset = await runChecks(portChecks(configSchema.parse({ port: 0 })));
      expect(unset[1]).toMatchObject({ status: 'skip' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('passes a writable data dir and leaves nothing in it', async () => {
    const dataDir = join(folder, 'writable');
    mkdirSync(dataDir);
    const [writable, disk] = await runChecks(dataDirChecks(dataDir));
    expect(writable).toMatchObject({ status: 'pass', detail: `${dataDir} is writable` });
    expect(disk!.detail).toMatch(/free of .* on the file system of /);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('passes a missing data dir whose parent is writable, without creating it', async () => {
    const dataDir = join(folder, 'not-yet', 'data');
    const [writable, disk] = await runChecks(dataDirChecks(dataDir));
    expect(writable).toMatchObject({
      status: 'pass',
      detail: `${dataDir} does not exist; will be created (${folder} is writable)`,
    });
    expect(disk!.status).not.toBe('fail');
    expect(existsSync(join(folder, 'not-yet'))).toBe(false);
  });

  it('fails a read-only data dir (not as root, whom modes do not stop)', async (context) => {
    if (process.getuid?.() === 0) {
      context.skip('running as root: chmod 555 does not stop root from writing');
    }
    const dataDir = join(folder, 'read-only');
    mkdirSync(dataDir, { mode: 0o555 });
    chmodSync(dataDir, 0o555);
    const [writable] = await runChecks(dataDirChecks(dataDir));
    expect(writable).toMatchObject({
      status: 'fail',
      detail: `cannot write in ${dataDir}: EACCES`,
    });
  });

  it('fails a data dir below a file', async () => {
    const file = join(folder, 'a-file');
    writeFileSync(file, '');
    const [notDir] = await runChecks(dataDirChecks(join(file, 'data')));
    expect(notDir).toMatchObject({ status: 'fail', detail: `${file} is not a directory` });
  });

  it('checks the log file: existing and appendable, to be created, or in a missing folder', async () => {
    const existing = join(folder, 'existing.log');
    writeFileSync(existing, 'kept\n');
    const [appendable] = await runChecks([logFileCheck(existing)]);
    expect(appendable).toMatchObject({ status: 'pass', detail: `${existing} can be appended to` });
    expect(readFileSync(existing, 'utf8')).toBe('kept\n');
    const fresh = join(folder, 'fresh.log');
    const [created] = await runChecks([logFileCheck(fresh)]);
    expect(created).toMatchObject({ status: 'pass' });
    expect(existsSync(fresh)).toBe(false);
    const [missing] = await runChecks([logFileCheck(join(folder, 'nope', 'x.log'))]);
    expect(missing).toMatchObject({ status: 'fail' });
    expect(missing!.detail).toContain('does not exist');
    const [folderPath] = await runChecks([logFileCheck(folder)]);
    expect(folderPath).toMatchObject({ status: 'fail', detail: `${folder} is not a file` });
    const [none] = await runChecks([logFileCheck(undefined)]);
    expect(none).toMatchObject({ status: 'skip' });
  });

  it('judges Node versions against the engines floor', async () => {
    const statuses = await Promise.all(
      ['18.20.0', '20.18.0', '20.18.1', '22.11.0', '23.1.0'].map(async (version) => {
        const [result] = await runChecks([nodeVersionCheck(version)]);
        return result!.status;
      }),
    );
    expect(statuses).toEqual(['fail', 'fail', 'pass', 'pass', 'warn']);
  });
});
