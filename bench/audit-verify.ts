// `npm run bench:audit`: how long `assistd audit verify` takes on a log of BENCH_AUDIT_RECORDS
// records (default 200,000, written through the real writer with its signed checkpoints), in full
// and from the second-to-last checkpoint (`--from-checkpoint`), side by side, 3 rounds.
import { rmSync } from 'node:fs';
import { verifyAuditLog, type AuditVerification } from '../src/security/audit/verify.js';
import { sampleEntry, tempAuditStore, testAuditLog, testSigner } from '../test/support/audit.js';

const count = Number(process.env.BENCH_AUDIT_RECORDS ?? 200_000);
const { dir, store, raw, checkpointFile } = tempAuditStore();
const { signer, keys } = testSigner();
try {
  const log = testAuditLog({ store: store.audit, signer, checkpointFile });
  for (let start = 1; start <= count; start += 500) {
    const size = Math.min(500, count - start + 1);
    await Promise.all(Array.from({ length: size }, (_, i) => log.append(sampleEntry(start + i))));
  }
  await log.close();
  const checkpoints = await store.audit.checkpoints();
  const from = checkpoints.at(-2)?.seq ?? checkpoints.at(-1)?.seq;
  if (from === undefined) throw new Error('the log has no checkpoint');

  const timed = async (fromCheckpoint?: number) => {
    const started = performance.now();
    const result: AuditVerification = await verifyAuditLog({
      store: store.audit,
      keys,
      checkpointFile,
      fromCheckpoint,
    });
    if (!result.intact) throw new Error('the benchmark log failed verification');
    return { ms: performance.now() - started, records: result.records };
  };
  console.log(
    `audit verify: ${count} records, ${checkpoints.length} checkpoints; from checkpoint ${from}`,
  );
  const ratios: number[] = [];
  for (let round = 1; round <= 3; round++) {
    const full = await timed();
    const recent = await timed(from);
    ratios.push(recent.ms / full.ms);
    console.log(
      `round ${round}  full ${full.ms.toFixed(0)} ms (${((full.ms * 1000) / full.records).toFixed(1)} µs a record)` +
        `  from checkpoint ${recent.ms.toFixed(1)} ms (${recent.records} records)` +
        `  ratio ${(recent.ms / full.ms).toFixed(4)}`,
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(`from-checkpoint / full time, median: ${ratios[1]!.toFixed(4)}`);
} finally {
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
