import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const assistdBin = `${repoRoot}dist/main.js`;
export const initServiceBin = `${repoRoot}dist/init-service.js`;

/** A child process whose output is collected as it arrives. */
export class Child {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly process: ChildProcess) {
    process.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      process.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  static spawn(command: string, args: string[], options: SpawnOptions = {}): Child {
    return new Child(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
  }

  /** Waits until stdout matches, failing with the output so far on timeout or exit. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const started = Date.now();
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match) return match;
      if (this.process.exitCode !== null || Date.now() - started > timeoutMs) {
        throw new Error(`no ${String(pattern)} in output:\n${this.stdout}\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.process.kill(signal);
  }
}

/** Runs a command to completion. */
export async function run(command: string, args: string[], options: SpawnOptions = {}) {
  const child = Child.spawn(command, args, options);
  const { code } = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** `assistd serve ARGS` from dist/ in a process of its own, once it listens (`--port 0` works). */
export async function startServerProcess(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: Child; url: string }> {
  const child = Child.spawn(process.execPath, [assistdBin, 'serve', ...args], { env });
  const match = await child.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*assistd listening/);
  return { child, url: match[1]! };
}
