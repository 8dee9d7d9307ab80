import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, assistdBin, repoRoot, run } from '../support/process.js';

// The image promises a server that runs on a read-only root filesystem, writing only its data
// dir, its log folder and /tmp. bubblewrap gives a process exactly that view of this machine
// (every mount read-only, those three writable), so the promise is tested here without Docker:
// the server starts, makes its keys, database and demo model, loads the model through llama.cpp
// from the read-only node_modules, answers a chat and logs to its file. `.ci/run` installs
// bubblewrap; where it is missing the test says so and skips.
const bwrap = ['/usr/bin/bwrap', '/bin/bwrap'].find((path) => existsSync(path));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(bwrap === undefined)('on a read-only root filesystem (bubblewrap)', () => {
  const root = mkdtempSync(join(tmpdir(), 'assistd-readonly-'));
  const dataDir = join(root, 'data');
  const logDir = join(root, 'log');
  mkdirSync(dataDir, { mode: 0o700 });
  mkdirSync(logDir);
  let server: Child | undefined;
  afterAll(() => server?.kill('SIGKILL'));

  it('starts, serves the demo model and writes only its volumes', async () => {
    const port = await freePort();
    server = Child.spawn(bwrap!, [
      ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      // The checkout again, read-only, in case it lives under /tmp (CI clones there).
      ...['--ro-bind', repoRoot, repoRoot],
      ...['--bind', dataDir, dataDir, '--bind', logDir, logDir, '--die-with-parent'],
      process.execPath,
      assistdBin,
      'serve',
      ...['--port', String(port), '--data-dir', dataDir],
      ...['--log-file', join(logDir, 'assistd.log')],
    ]);
    const url = `http://127.0.0.1:${port}`;
    const ready = async () =>
      (await fetch(`${url}/ready`).then(
        (response) => response.status,
        () => 0,
      )) === 200;
    await waitUntil(async () => (await ready()) || server!.process.exitCode !== null);
    expect(server.process.exitCode, server.stderr).toBeNull();

    // The sandbox holds: the same view refuses a write to the app's own folder.
    const probe = await run(bwrap!, [
      ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      ...['--ro-bind', repoRoot, repoRoot],
      'sh',
      '-c',
      `touch ${join(repoRoot, 'dist', 'probe')}`,
    ]);
    expect(probe.stderr).toContain('Read-only file system');

    const token = execFileSync(
      process.execPath,
      [assistdBin, 'tokens', 'issue', '--principal', 'ops@example.com', '--data-dir', dataDir],
      { encoding: 'utf8' },
    ).trim();
    const response = await fetch(`${url}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '你好' }], max_tokens: 16 }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { model: string; message: { content: string } };
    expect(answer.model).toBe('assistd-demo');
    expect(answer.message.content.length).toBeGreaterThan(0);

    await waitUntil(async () =>
      readFileSync(join(logDir, 'assistd.log'), 'utf8').includes('/v1/chat'),
    );
    expect(existsSync(join(dataDir, 'assistd.db'))).toBe(true);
  });
});
