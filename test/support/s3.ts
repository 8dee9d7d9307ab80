import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real S3-compatible server (s3rver from npm) in a process of its own on loopback, with one
 * bucket. Credentials are s3rver's fixed test pair.
 */
export class S3Server {
  static readonly credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly endpoint: string,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'assistd-test'): Promise<S3Server> {
    const dir = mkdtempSync(join(tmpdir(), 'assistd-s3rver-'));
    const port = await freePort();
    const bin = join(
      createRequire(import.meta.url).resolve('s3rver/package.json'),
      '../bin/s3rver.js',
    );
    const child = spawn(
      process.execPath,
      // s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider.
      [
        '--openssl-legacy-provider',
        bin,
        '-d',
        dir,
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-s',
        '--configure-bucket',
        bucket,
      ],
      { stdio: 'ignore' },
    );
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (await reachable(port))
        return new S3Server(child, dir, `http://127.0.0.1:${port}`, bucket);
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error('s3rver did not start');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
