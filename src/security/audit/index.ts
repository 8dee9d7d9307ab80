import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Store } from '../../storage/types.js';
import type { Clock } from '../../util/ids.js';
import type { Keyring } from '../keyring.js';
import { AuditLog } from './audit-log.js';
import { checkpointFileIn } from './checkpoint-file.js';
import { repairCheckpointFile } from './checkpoint-repair.js';
import type { VerifyOptions } from './verify.js';
import { keyringSigner } from './checkpoint.js';

export { AuditLog, AuditUnavailableError } from './audit-log.js';
export { cliEntry, serverEntry, type AdminEvent } from './admin-event.js';
export { checkpointFileIn } from './checkpoint-file.js';
export { acceptanceBytes, acceptGapAction } from './checkpoint-gap.js';
export { keyringSigner } from './checkpoint.js';
export { recordJson } from './record-json.js';
export {
  verifyAuditLog,
  VerifyRangeError,
  type AuditProblem,
  type AuditVerification,
} from './verify.js';

/**
 * What checking a data dir's log takes from its configuration: its store, its checkpoint file,
 * whether replicas share the table, and the checkpoint period gaps are measured against.
 */
export function verifyOptionsFor(
  config: Readonly<Config>,
  store: Store,
): Pick<VerifyOptions, 'store' | 'checkpointFile' | 'sharedTable' | 'checkpointEveryMs'> {
  return {
    store: store.audit,
    checkpointFile: checkpointFileIn(config.data_dir),
    sharedTable: config.database.url !== undefined,
    checkpointEveryMs: config.audit.checkpoint_every_seconds * 1000,
  };
}

/**
 * The audit log of a data dir, as the server and the CLI open it: records in the store,
 * checkpoints signed by the keyring's active key into the table and `<data_dir>/audit/`.
 */
export function openAuditLog(options: {
  config: Readonly<Config>;
  store: Store;
  keyring: Keyring;
  logger: Logger;
  clock?: Clock;
  /** Periodic checkpoints (the server); the CLI checkpoints once, when it closes. */
  timer: boolean;
  /** Told how long each transaction took, ms (metrics). */
  onWrite?: (ms: number) => void;
}): AuditLog {
  const { config } = options;
  return new AuditLog({
    store: options.store.audit,
    // The CLI makes the first key when there is none (as `tokens issue` does), so its records
    // are anchored as it ends; the server makes it at start.
    signer: keyringSigner(options.keyring, { ensureKey: !options.timer }),
    checkpointFile: checkpointFileIn(config.data_dir),
    logger: options.logger,
    ...(options.clock ? { clock: options.clock } : {}),
    enabled: config.audit.enabled,
    checkpointEveryRecords: config.audit.checkpoint_every_records,
    checkpointEveryMs: options.timer ? config.audit.checkpoint_every_seconds * 1000 : 0,
    maxPending: config.audit.max_pending,
    ...(options.onWrite ? { onWrite: options.onWrite } : {}),
  });
}

/**
 * Before the audit log opens: repairs what a crash left in the data dir's checkpoints.jsonl
 * (checkpoint-repair.ts), against this server's proven signing keys. Nothing when the log is off.
 */
export async function repairAuditCheckpoints(options: {
  config: Readonly<Config>;
  store: Store;
  keyring: Keyring;
  logger: Logger;
}): Promise<void> {
  const { config, store, keyring, logger } = options;
  if (!config.audit.enabled) return;
  await repairCheckpointFile(
    store,
    checkpointFileIn(config.data_dir),
    logger,
    async () => (await keyring.provenKeys()).keys,
    config.database.url !== undefined,
  );
}
