import type { Config } from '../../config/schema.js';
import { inspectModelFile, type ModelFileReport } from '../../providers/llama-cpp/model-file.js';
import { formatBytes } from '../../util/format-bytes.js';
import { fail, messageOf, pass, skip, warn, type Check } from './check.js';
import { memoryBudget, type MemoryBudget } from './memory.js';

/** Estimated model memory above this share of the memory limit warns (no room for the rest). */
export const memoryWarnFraction = 0.8;

/**
 * The local model: the file (or the one `.gguf` in the folder) passes the same inspection the
 * server runs at start (GGUF magic "GGUF", header, architecture, required tensors), and its
 * memory estimate (weights + KV cache × max_batch_size) fits.
 */
export function modelChecks(
  config: Readonly<Config>,
  budget: () => Promise<MemoryBudget> = () => memoryBudget(),
): Check[] {
  const local = config.local_model;
  const path = config.model_path;
  let inspection: Promise<ModelFileReport> | undefined;
  // Both checks read one inspection; the second waits for the first's file read.
  const inspect = () =>
    (inspection ??= inspectModelFile(path!, {
      maxBatchSize: local.max_batch_size,
      contextSize: local.context_size,
    }));
  const notConfigured = () =>
    skip(
      config.model_endpoint === undefined && local.demo
        ? 'no model_path configured (the server writes and serves its demo model)'
        : 'no model_path configured',
    );

  return [
    {
      id: 'model-file',
      title: 'Model file',
      run: async () => {
        if (path === undefined) return notConfigured();
        let report;
        try {
          report = await inspect();
        } catch (error) {
          return fail(messageOf(error));
        }
        const detail = `${report.path}: GGUF v${report.ggufVersion}, ${report.architecture}, ${formatBytes(report.fileBytes)}`;
        return report.warnings.length > 0
          ? warn(`${detail}; ${report.warnings.join('; ')}`)
          : pass(detail);
      },
    },
    {
      id: 'model-memory',
      title: 'Model memory',
      run: async () => {
        if (path === undefined) return notConfigured();
        let report;
        try {
          report = await inspect();
        } catch {
          return skip('the model file cannot be used (see Model file)');
        }
        const needed = report.memory.totalBytes;
        if (needed === undefined) {
          return warn(`cannot estimate: ${report.path} lacks the attention metadata`);
        }
        const memory = await budget();
        const kv = report.memory.kvBytesPerSequence ?? 0;
        const estimate =
          `needs about ${formatBytes(needed)} (weights ${formatBytes(report.memory.weightsBytes)} + ` +
          `KV cache ${formatBytes(kv)} × ${report.memory.maxBatchSize} sequences of ${report.memory.contextSize} tokens)`;
        const limit =
          memory.cgroupLimitBytes !== undefined && memory.cgroupLimitBytes < memory.totalBytes
            ? `the cgroup limit of ${formatBytes(memory.limitBytes)}`
            : `${formatBytes(memory.limitBytes)} of RAM`;
        // The server refuses to start above memory_limit_mb (default 80 % of RAM): the same test.
        const serverLimit =
          local.memory_limit_mb === undefined
            ? Math.floor((memory.totalBytes * 0.8) / 2 ** 20) * 2 ** 20
            : local.memory_limit_mb * 2 ** 20;
        if (needed > memory.limitBytes) {
          return fail(`${estimate}, more than ${limit}; lower max_batch_size or context_size`);
        }
        if (needed > serverLimit) {
          return fail(
            `${estimate}, more than the memory limit of ${formatBytes(serverLimit)} the server ` +
              'enforces (local_model.memory_limit_mb, default 80 % of RAM): it would refuse to start',
          );
        }
        if (needed > memory.limitBytes * memoryWarnFraction) {
          return warn(`${estimate}: over ${memoryWarnFraction * 100} % of ${limit}`);
        }
        if (needed > memory.freeBytes) {
          return warn(`${estimate}, more than the ${formatBytes(memory.freeBytes)} free now`);
        }
        return pass(`${estimate}; ${limit}, ${formatBytes(memory.freeBytes)} free`);
      },
    },
  ];
}
