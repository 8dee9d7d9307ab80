import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';

/** What memory the process may use, in bytes. */
export interface MemoryBudget {
  totalBytes: number;
  freeBytes: number;
  /** The container's limit (cgroup v2 `memory.max`, or v1); undefined when there is none. */
  cgroupLimitBytes: number | undefined;
  /** The smaller of the machine's memory and the cgroup limit: above it the process is killed. */
  limitBytes: number;
}

/** cgroup v2 first (every current distribution and Kubernetes node), then v1. */
const cgroupLimitFiles = [
  '/sys/fs/cgroup/memory.max',
  '/sys/fs/cgroup/memory/memory.limit_in_bytes',
];

/** v1 reports "no limit" as a huge page-aligned number rather than `max`. */
const noLimitAbove = 2 ** 60;

export async function memoryBudget(
  files: readonly string[] = cgroupLimitFiles,
): Promise<MemoryBudget> {
  const totalBytes = totalmem();
  let cgroupLimitBytes: number | undefined;
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const value = Number(text.trim());
    if (Number.isFinite(value) && value > 0 && value < noLimitAbove) cgroupLimitBytes = value;
    break; // the first file present is the hierarchy in use, whatever it says
  }
  return {
    totalBytes,
    freeBytes: freemem(),
    cgroupLimitBytes,
    limitBytes: Math.min(totalBytes, cgroupLimitBytes ?? Infinity),
  };
}
