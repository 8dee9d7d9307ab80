// Starts and drives the direct side of the local-engine benchmark (local-engine-direct-child.ts).
//
// It runs in a child process rather than in the benchmark's own: the server runs the model in its
// process, next to its own event loop, while the HTTP clients run in the benchmark process. A
// child gives the direct loop the same arrangement (its own process and event loop, the benchmark
// process idle meanwhile) and keeps the benchmark's HTTP client work off the direct side's loop.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadPlan, LoadResult } from './local-engine-load.js';
import { root } from './support.js';

export type DirectRequest = { type: 'run'; plan: LoadPlan };
export type DirectReply =
  | { type: 'ready'; rssMb: number }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };

export interface DirectEngine {
  pid: number;
  /** RSS of the child once the model and context were loaded. */
  rssMb: number;
  run(plan: LoadPlan): Promise<LoadResult>;
  stop(): void;
}

export interface DirectOptions {
  modelPath: string;
  sequences: number;
  contextSize: number;
  threads: number;
}

/** Forks the child, waits until it has loaded the model, and returns a handle to drive it. */
export async function startDirect(options: DirectOptions): Promise<DirectEngine> {
  const child = fork(
    join(root, 'bench/local-engine-direct-child.ts'),
    [options.modelPath, options.sequences, options.contextSize, options.threads].map(String),
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const next = () =>
    new Promise<DirectReply>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the direct engine exited (code ${code})`));
      child.once('exit', onExit);
      child.once('message', (message: DirectReply) => {
        child.off('exit', onExit);
        if (message.type === 'error') reject(new Error(`direct engine: ${message.message}`));
        else resolve(message);
      });
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`unexpected message ${ready.type}`);
  return {
    pid: child.pid!,
    rssMb: ready.rssMb,
    async run(plan) {
      const answer = next();
      child.send({ type: 'run', plan } satisfies DirectRequest);
      const reply = await answer;
      if (reply.type !== 'result') throw new Error(`unexpected message ${reply.type}`);
      return reply.result;
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}
