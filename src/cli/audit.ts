import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import {
  acceptanceBytes,
  acceptGapAction,
  checkpointFileIn,
  keyringSigner,
  recordJson,
  verifyOptionsFor,
  verifyAuditLog,
  VerifyRangeError,
  type AuditVerification,
} from '../security/audit/index.js';
import { createLogger } from '../logger.js';
import { provenSigningKeys } from '../security/keyring.js';
import { openAtRest } from '../security/sealer.js';
import { openStore, sqlitePath } from '../storage/open.js';
import type { AuditRecord, AuditStore, Store } from '../storage/types.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';
import { audited, withOffline } from './offline.js';

/** Exit code of `audit verify` when it found a problem (0: intact, 2: bad input). */
export const auditFailedExitCode = 3;

interface VerifyFlags extends ConfigFlags {
  json?: boolean;
  strict?: boolean;
  fromCheckpoint?: string;
}

/** SQLite's and PostgreSQL's words for a table that is not there. */
const missingTable = /no such table|relation "[^"]+" does not exist/;

interface AcceptFlags extends ConfigFlags {
  gap?: string[];
  all?: boolean;
}

interface TailFlags extends ConfigFlags {
  lines: string;
  follow?: boolean;
  json?: boolean;
}

/** `assistd audit …`: verify the hash chain and its signed checkpoints, print records. */
export function auditCommand(io: CliIo): Command {
  const audit = new Command('audit').description(
    'the hash-chained audit log: verify it, print its records (works while the server runs)',
  );

  addStoreOptions(
    audit
      .command('verify')
      .description(
        `check every record and signed checkpoint; name the sequence number of each problem (exit 0 intact, ${auditFailedExitCode} tampered)`,
      )
      .option('--json', 'print the result as JSON')
      .option('--strict', 'also fail when the newest records are not covered by a checkpoint')
      .option(
        '--from-checkpoint <seq>',
        "check the records from this checkpoint on (an earlier run's last checkpoint); every checkpoint is still checked",
      ),
  ).action(async (flags: VerifyFlags) => {
    const fromCheckpoint =
      flags.fromCheckpoint === undefined ? undefined : Number(flags.fromCheckpoint);
    if (
      fromCheckpoint !== undefined &&
      (!/^\d{1,15}$/.test(flags.fromCheckpoint!) || fromCheckpoint < 1)
    ) {
      throw new UsageError('--from-checkpoint must be the sequence number of a checkpoint');
    }
    await withAuditStore(flags, io, async ({ config, store }) => {
      const result = await verifyAuditLog({
        ...verifyOptionsFor(config, store),
        ...(await ownSigningKeys(config, store)),
        fromCheckpoint,
      }).catch((error: unknown) => {
        if (error instanceof VerifyRangeError) {
          throw new UsageError(`--from-checkpoint ${error.message}`);
        }
        throw error;
      });
      if (flags.json === true) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else io.stdout(describeVerification(result, checkpointFileIn(config.data_dir)));
      if (!result.intact)
        throw new UsageError('the audit log failed verification', auditFailedExitCode);
      if (flags.strict === true && result.unanchored) {
        throw new UsageError(
          `records ${result.unanchored.from}–${result.unanchored.to} are not covered by a signed checkpoint`,
          auditFailedExitCode,
        );
      }
    });
  });

  addStoreOptions(
    audit
      .command('tail')
      .description('print the newest records, oldest first; --follow keeps printing new ones')
      .option('-n, --lines <count>', 'how many records', '20')
      .option('--follow', 'wait for new records and print them (stop with Ctrl-C)')
      .option('--json', 'one JSON object per line'),
  ).action(async (flags: TailFlags) => {
    const count = Number(flags.lines);
    if (!Number.isInteger(count) || count < 0 || count > 100_000) {
      throw new UsageError('-n must be a whole number from 0 to 100000');
    }
    const print = (record: AuditRecord) =>
      io.stdout(
        `${flags.json === true ? JSON.stringify(recordJson(record)) : recordLine(record)}\n`,
      );
    await withAuditStore(flags, io, async ({ store }) => {
      const records = count === 0 ? [] : await store.audit.latest(count);
      records.forEach(print);
      if (flags.follow !== true) return;
      const head = await store.audit.head();
      await followAudit(store.audit, head?.seq ?? 0, print);
    });
  });

  addStoreOptions(
    audit
      .command('checkpoint')
      .description(
        'sign a checkpoint over the newest record now (the server does so periodically)',
      ),
  ).action(async (flags: ConfigFlags) => {
    await withOffline(flags, io, async ({ audit: log, store }) => {
      await log.checkpoint();
      const last = await store.audit.lastCheckpoint();
      io.stderr(
        last
          ? `checkpoint at record ${last.seq} (key ${last.kid}, ${new Date(last.at).toISOString()})\n`
          : 'no checkpoint: the log is empty or no signing key is active\n',
      );
    });
  });

  addStoreOptions(
    audit
      .command('accept-gaps')
      .description(
        'sign an acceptance of checkpoint gaps `audit verify` names (records that waited too long for a checkpoint), once explained: verify then takes them',
      )
      .option('--gap <from-to...>', 'a gap to accept, as verify names it (1-20)')
      .option('--all', 'accept every gap verify names'),
  ).action(async (flags: AcceptFlags) => {
    const chosen = (flags.gap ?? []).map((text) => {
      const match = /^(\d{1,15})-(\d{1,15})$/.exec(text);
      if (!match) throw new UsageError(`--gap ${text}: give a range of records, such as 1-20`);
      return { from: Number(match[1]), to: Number(match[2]) };
    });
    if (chosen.length > 0 === (flags.all === true)) {
      throw new UsageError(
        'name the gaps to accept (--gap FROM-TO, as audit verify names them) or --all',
      );
    }
    const accepted: Array<{ from: number; to: number }> = [];
    await withOffline(flags, io, async ({ config, store, security, audit: log }) => {
      const result = await verifyAuditLog({
        ...verifyOptionsFor(config, store),
        ...(await security.keyring.provenKeys()),
      });
      const others = result.problems.filter((problem) => problem.kind !== 'checkpoint-gap');
      if (others.length > 0) {
        throw new UsageError(
          `the audit log has ${others.length} other problems (run audit verify): no gap is accepted in a log that fails otherwise`,
          auditFailedExitCode,
        );
      }
      const named = (gap: { from: number; to: number }) =>
        chosen.some((one) => one.from === gap.from && one.to === gap.to);
      const unknown = chosen.filter(
        (one) => !result.gaps.some((gap) => gap.from === one.from && gap.to === one.to),
      );
      if (unknown.length > 0) {
        throw new UsageError(
          `no such gap: ${unknown.map((one) => `${one.from}-${one.to}`).join(', ')} (verify names ` +
            `${result.gaps.map((gap) => `${gap.from}-${gap.to}`).join(', ') || 'none'})`,
        );
      }
      const gaps = flags.all === true ? result.gaps : result.gaps.filter(named);
      if (gaps.length === 0) {
        io.stderr('no checkpoint gap to accept\n');
        return;
      }
      await security.keyring.ensureCurrent();
      const signer = keyringSigner(security.keyring);
      for (const gap of gaps) {
        const [last] = await store.audit.query({ after: gap.to - 1, limit: 1 });
        // Signed over the gap's last record as it is: rewritten later, it is a gap again.
        const { kid, signature } = await signer.sign(acceptanceBytes(gap.from, gap.to, last!.hash));
        const details = {
          from: gap.from,
          to: gap.to,
          kid,
          signature: signature.toString('base64'),
        };
        await audited(log, acceptGapAction, { resource: '/admin/audit', details }, () =>
          Promise.resolve(),
        );
        accepted.push(gap);
        io.stderr(`accepted records ${gap.from}–${gap.to} (key ${kid})\n`);
      }
      // The log's last checkpoint, as the command ends, anchors the acceptances.
    });
    if (accepted.length === 0) return;
    // A server writing meanwhile can grow a gap at the log's end past what was accepted.
    await withAuditStore(flags, io, async ({ config, store }) => {
      const { gaps } = await verifyAuditLog({
        ...verifyOptionsFor(config, store),
        ...(await ownSigningKeys(config, store)),
      });
      const open = gaps.filter((gap) => accepted.some((one) => one.from === gap.from));
      if (open.length > 0) {
        throw new UsageError(
          `records ${open.map((gap) => `${gap.from}–${gap.to}`).join(', ')} are still a gap ` +
            '(the log grew while they were accepted): run audit accept-gaps again',
          1,
        );
      }
    });
  });

  return audit;
}

/**
 * Prints records newer than `after` as they arrive, polling every `intervalMs`, until `signal`
 * aborts (the CLI passes none: it runs until interrupted).
 */
export async function followAudit(
  store: AuditStore,
  after: number,
  print: (record: AuditRecord) => void,
  signal?: AbortSignal,
  intervalMs = 500,
): Promise<void> {
  let last = after;
  while (signal?.aborted !== true) {
    const page = await store.query({ after: last, limit: 1000 });
    for (const record of page) {
      print(record);
      last = record.seq;
    }
    if (page.length === 1000) continue;
    try {
      await sleep(intervalMs, undefined, signal ? { signal } : {});
    } catch {
      return;
    }
  }
}

/**
 * Opens the data dir's database without the master key: verifying and reading need only the
 * records and the public keys, so an auditor without the secrets can run them.
 */
/**
 * This server's signing keys, each proven by opening its private key with the master key (read
 * only: nothing is stored), so a key row written into the database without it signs nothing.
 */
async function ownSigningKeys(config: Readonly<Config>, store: Store) {
  const logger = createLogger('warn', { stderr: true });
  const atRest = await openAtRest({ config, store, logger, readOnly: true });
  try {
    return await provenSigningKeys(store.signingKeys, atRest.sealer);
  } finally {
    await atRest.crypto.close();
  }
}

async function withAuditStore(
  flags: ConfigFlags,
  io: CliIo,
  work: (opened: { config: Readonly<Config>; store: Store }) => Promise<void>,
): Promise<void> {
  const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
  if (config.database.url === undefined && !existsSync(sqlitePath(config))) {
    throw new UsageError(`no assistd database at ${sqlitePath(config)} (see --data-dir)`);
  }
  const store = await openStore(config).catch(tableRemoved);
  try {
    await work({ config, store }).catch(tableRemoved);
  } finally {
    await store.close();
  }
}

/**
 * A table of a migrated store that is not there was dropped: tampering (exit 3), not a fault of
 * assistd. Other errors pass.
 */
function tableRemoved(error: unknown): never {
  if (error instanceof Error && missingTable.test(error.message)) {
    throw new UsageError(
      `the audit log cannot be read (${error.message}): its tables were dropped or damaged`,
      auditFailedExitCode,
    );
  }
  throw error;
}

/** The human-readable verification report. */
export function describeVerification(result: AuditVerification, file: string): string {
  const lines: string[] = [];
  const range = result.records > 0 ? ` (${result.from}–${result.lastSeq})` : '';
  const last = result.lastCheckpoint;
  lines.push(
    `audit log: ${result.records} record${result.records === 1 ? '' : 's'}${result.from > 1 ? ' checked' : ''}${range}, ${result.checkpoints} checkpoints` +
      (last ? ` (last at record ${last.seq}, ${iso(last.at)}, key ${last.kid})` : ''),
  );
  lines.push(`checkpoint file: ${file} (${result.checkpointFile})`);
  for (const problem of result.problems) {
    lines.push(
      `PROBLEM ${problem.kind}${problem.seq === null ? '' : ` at ${problem.seq}`}: ${problem.message}`,
    );
  }
  if (result.problemsOmitted > 0) lines.push(`… and ${result.problemsOmitted} more problems`);
  if (result.unanchored) {
    lines.push(
      `unanchored: records ${result.unanchored.from}–${result.unanchored.to} are not covered by a ` +
        'signed checkpoint yet (normal while the server runs; after a clean stop, they were ' +
        'added after the fact)',
    );
  }
  lines.push(
    result.intact
      ? `OK: every record${result.from > 1 ? ` from ${result.from} on` : ''} matches the chain and every checkpoint verifies`
      : `FAILED: ${result.problems.length + result.problemsOmitted} problems`,
  );
  return `${lines.join('\n')}\n`;
}

/** One record on one line; text a caller chose (user agent, principal) is quoted when odd. */
export function recordLine(record: AuditRecord): string {
  const who =
    record.principal === null
      ? '-'
      : `${printable(record.principal)}${record.auth === null ? '' : `(${record.auth})`}`;
  const fields = [
    String(record.seq),
    iso(record.at),
    record.source,
    who,
    record.method ?? '-',
    record.action ?? '-',
    printable(record.resource ?? '-'),
    record.decision ?? '-',
    record.status === null ? '-' : String(record.status),
    record.error ?? '-',
    record.latencyMs === null ? '-' : `${record.latencyMs}ms`,
  ];
  if (record.requestId !== null) fields.push(`req=${printable(record.requestId)}`);
  if (record.ip !== null) fields.push(`ip=${printable(record.ip)}`);
  if (record.details !== null) fields.push(JSON.stringify(record.details));
  return fields.join(' ');
}

/** Plain text as is; anything with spaces, quotes or control characters JSON-quoted. */
function printable(text: string): string {
  return /^[\x21-\x7e]+$/.test(text) && !text.includes('"') ? text : quote(text);
}

function quote(text: string): string {
  // JSON.stringify leaves format characters (bidi overrides) alone: escape those too.
  return JSON.stringify(text).replace(
    /[\p{Cf}\u2028\u2029]/gu,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
