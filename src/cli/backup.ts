import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { modelsFolder, openRepository } from '../backup/open-repository.js';
import {
  backupFolder,
  FileChangedError,
  NotAFolderError,
  pruneRepository,
  verifyRepository,
  type Progress,
} from '../backup/models.js';
import { ensureFolder } from '../util/data-dir.js';
import { objectStoreFailure } from '../backup/object-store/failure.js';
import { RepositoryLockedError } from '../backup/repository-lock.js';
import { UnreadableSnapshotError } from '../backup/repository.js';
import { RestoreError, restoreSnapshot } from '../backup/restore-models.js';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CryptoError, DecryptionError, openCrypto } from '../security/crypto/index.js';
import { fieldCipher } from '../security/field-cipher.js';
import { describeStore, openStore } from '../storage/open.js';
import { readShippedLog, replayLog } from '../backup/log-restore.js';
import { formatBytes } from '../util/format-bytes.js';
import { addStoreOptions } from './config-options.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { audited, withOffline, type AuditNote } from './offline.js';

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A progress bar on stderr when it is a terminal; nothing otherwise (logs, CI). */
function progressBar(io: CliIo, unit: 'bytes' | 'chunks'): { update: Progress; end(): void } {
  if (io !== processIo || !process.stderr.isTTY)
    return { update: () => undefined, end: () => undefined };
  const started = performance.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      drawn = true;
      const share = total === 0 ? 1 : done / total;
      const width = 30;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '-');
      const rate = done / Math.max(0.001, (now - started) / 1000);
      const amounts =
        unit === 'bytes'
          ? `${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s`
          : `${done} / ${total} chunks`;
      io.stderr(`\r${(share * 100).toFixed(0).padStart(3)}% [${bar}] ${amounts}   `);
    },
    end() {
      if (drawn) io.stderr('\n');
    },
  };
}

/** Repository failures the operator can act on become usage errors (clear message, no stack). */
async function withRepository<T>(
  config: Readonly<Config>,
  access: 'read' | 'write',
  work: (opened: Awaited<ReturnType<typeof openRepository>>) => Promise<T>,
): Promise<T> {
  let opened;
  try {
    opened = await openRepository(config, quietLogger, { readOnly: access === 'read' });
  } catch (error) {
    if (error instanceof CryptoError) throw new UsageError(error.message);
    throw repositoryFailure(error);
  }
  try {
    return await work(opened);
  } catch (error) {
    throw repositoryFailure(error);
  } finally {
    await opened.close();
  }
}

/** Failures of the repository the operator acts on, as one line and exit 1; others as they are. */
function repositoryFailure(error: unknown): unknown {
  if (error instanceof RepositoryLockedError || error instanceof UnreadableSnapshotError) {
    return new UsageError(error.message, 1);
  }
  // An object the repository holds that fails authentication (altered or damaged).
  if (error instanceof DecryptionError) {
    return new UsageError(`${error.message} (\`backup verify\` lists what is damaged)`, 1);
  }
  const failure = objectStoreFailure(error);
  return failure === undefined ? error : new UsageError(failure, 1);
}

/**
 * Runs `work`, which writes a SQLite store into `folder` (made first if missing, one level at a
 * time: Node's recursive mkdir never returns under /proc). If it fails, the store's files it
 * added are removed again, and the folders made for it, so a retry is not refused; anything else
 * stays, whoever wrote it (with --to-database-url the folder may be a live server's).
 */
async function removedOnFailure<T>(folder: string, work: () => Promise<T>): Promise<T> {
  const made: string[] = [];
  for (let at = folder; !existsSync(at) && dirname(at) !== at; at = dirname(at)) made.push(at);
  ensureFolder(folder, 'the restore target', '--to');
  const before = new Set(readdirSync(folder));
  try {
    return await work();
  } catch (error) {
    for (const entry of readdirSync(folder)) {
      if (!before.has(entry) && /^assistd\.db(-wal|-shm|-journal)?$/.test(entry)) {
        rmSync(join(folder, entry), { force: true });
      }
    }
    // Innermost first; a folder something else wrote into meanwhile is not empty and stays.
    for (const at of made) {
      try {
        rmdirSync(at);
      } catch {
        break;
      }
    }
    throw error;
  }
}

/** `assistd backup …` and `assistd restore …`: model backups in the object store. */
export function backupCommands(io: CliIo): Command[] {
  const backup = new Command('backup').description(
    'incremental, encrypted backups of the model folder in object storage (object_store)',
  );

  addStoreOptions(
    backup
      .command('models')
      .description('take a snapshot of the model folder (only new chunks are uploaded)')
      .option(
        '--folder <dir>',
        'the folder (default: backup.models_folder, or the model_path folder)',
      ),
  ).action(async (flags: ConfigFlags & { folder?: string }) => {
    await withOffline(flags, io, async ({ config, audit }) => {
      const folder = flags.folder ?? modelsFolder(config);
      const note: AuditNote = { resource: '/admin/backups', details: { folder, snapshot: null } };
      await withRepository(config, 'write', async ({ repository }) => {
        const bar = progressBar(io, 'bytes');
        const result = await audited(audit, 'create:backup', note, async () => {
          const done = await backupFolder(repository, folder, { progress: bar.update }).catch(
            (error: unknown) => {
              if (error instanceof NotAFolderError) throw new UsageError(error.message);
              if (error instanceof FileChangedError) throw new UsageError(error.message, 1);
              throw error;
            },
          );
          note.details.snapshot = done.snapshot.id;
          return done;
        });
        bar.end();
        io.stderr(
          `snapshot ${result.snapshot.id}: ${result.files} files, ${formatBytes(result.totalBytes)}; ` +
            `${result.unchangedFiles} unchanged, ${result.newChunks} new chunks, ` +
            `${formatBytes(result.addedBytes)} uploaded to ${repository.objects.location}\n`,
        );
        const listed = (names: string[]) =>
          names.slice(0, 5).join(', ') + (names.length > 5 ? `, and ${names.length - 5} more` : '');
        const undecodable = new Set(result.undecodable);
        const others = result.skipped.filter((name) => !undecodable.has(name));
        if (others.length > 0) {
          io.stderr(
            `skipped ${others.length} entries that are not files (links to folders, ` +
              `broken links, sockets): ${listed(others)}\n`,
          );
        }
        if (result.undecodable.length > 0) {
          io.stderr(
            `skipped ${result.undecodable.length} entries whose names are not UTF-8 (a ` +
              `snapshot cannot hold them; rename them to back them up): ${listed(result.undecodable)}\n`,
          );
        }
        io.stdout(`${result.snapshot.id}\n`);
      });
    });
  });

  addStoreOptions(
    backup.command('list').description('list the snapshots').option('--json', 'print JSON'),
  ).action(async (flags: ConfigFlags & { json?: boolean }) => {
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
    await withRepository(config, 'read', async ({ repository }) => {
      const { snapshots, unreadable } = await repository.readableSnapshots();
      const rows = snapshots.map((snapshot) => ({
        id: snapshot.id,
        time: new Date(snapshot.time).toISOString(),
        host: snapshot.host,
        source: snapshot.source,
        files: snapshot.files.length,
        bytes: snapshot.files.reduce((sum, file) => sum + file.size, 0),
        added_bytes: snapshot.addedBytes,
      }));
      const reportUnreadable = () => {
        for (const { id, reason } of unreadable) io.stderr(`problem: snapshot ${id}: ${reason}\n`);
        if (unreadable.length > 0) {
          throw new UsageError(
            `${unreadable.length} snapshots cannot be read (\`backup verify\` checks the rest)`,
            1,
          );
        }
      };
      if (flags.json) {
        io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        reportUnreadable();
        return;
      }
      if (rows.length === 0) io.stderr(`no snapshots in ${repository.objects.location}\n`);
      for (const row of rows) {
        io.stdout(
          `${row.id}  ${row.time}  ${String(row.files).padStart(4)} files  ${formatBytes(row.bytes).padStart(10)}  ` +
            `+${formatBytes(row.added_bytes)}  ${row.host}:${row.source}\n`,
        );
      }
      reportUnreadable();
    });
  });

  addStoreOptions(
    backup
      .command('verify')
      .description(
        'decrypt and re-hash every chunk; check every snapshot has its chunks (exit 1 if not)',
      ),
  ).action(async (flags: ConfigFlags) => {
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
    await withRepository(config, 'read', async ({ repository }) => {
      const bar = progressBar(io, 'chunks');
      const result = await verifyRepository(repository, { progress: bar.update });
      bar.end();
      for (const problem of result.problems) io.stdout(`problem: ${problem}\n`);
      io.stdout(
        `${result.snapshots} snapshots, ${result.chunks} chunks (${formatBytes(result.bytes)}): ` +
          `${result.problems.length === 0 ? 'ok' : `${result.problems.length} problems`}\n`,
      );
      if (result.problems.length > 0) throw new UsageError('the backup repository has problems', 1);
    });
  });

  addStoreOptions(
    backup
      .command('prune')
      .description('forget snapshots the retention policy does not keep, then delete unused chunks')
      .option('--keep-daily <n>', 'newest snapshot of each of the last N days (backup.keep_daily)')
      .option('--keep-weekly <n>', 'of each of the last N ISO weeks (backup.keep_weekly)')
      .option('--keep-monthly <n>', 'of each of the last N months (backup.keep_monthly)'),
  ).action(
    async (
      flags: ConfigFlags & { keepDaily?: string; keepWeekly?: string; keepMonthly?: string },
    ) => {
      await withOffline(flags, io, async ({ config, audit }) => {
        const count = (value: string | undefined, fallback: number, name: string) => {
          if (value === undefined) return fallback;
          if (!/^\d{1,6}$/.test(value)) throw new UsageError(`${name} must be a whole number`);
          return Number(value);
        };
        const policy = {
          keepDaily: count(flags.keepDaily, config.backup.keep_daily, '--keep-daily'),
          keepWeekly: count(flags.keepWeekly, config.backup.keep_weekly, '--keep-weekly'),
          keepMonthly: count(flags.keepMonthly, config.backup.keep_monthly, '--keep-monthly'),
        };
        const note: AuditNote = { resource: '/admin/backups', details: { removed: 0 } };
        await withRepository(config, 'write', async ({ repository }) => {
          const result = await audited(audit, 'delete:backup', note, async () => {
            const pruned = await pruneRepository(repository, policy);
            note.details.removed = pruned.removedSnapshots.length;
            return pruned;
          });
          io.stderr(
            `kept ${result.keptSnapshots} snapshots, removed ${result.removedSnapshots.length} ` +
              `and ${result.removedChunks} unused chunks\n`,
          );
        });
      });
    },
  );

  const restore = new Command('restore').description('rebuild data from object storage');
  addStoreOptions(
    restore
      .command('models')
      .description('write a snapshot’s files into an empty folder, every chunk checked')
      .requiredOption('--snapshot <id>', 'the snapshot (see `backup list`)')
      .requiredOption('--to <dir>', 'an empty or new folder'),
  ).action(async (flags: ConfigFlags & { snapshot: string; to: string }) => {
    // No database is opened: a restore must work where only the key file and the bucket survive.
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
    await withRepository(config, 'read', async ({ repository }) => {
      const bar = progressBar(io, 'bytes');
      const target = resolve(io.cwd, flags.to);
      const result = await restoreSnapshot(repository, flags.snapshot, target, {
        progress: bar.update,
      }).catch((error: unknown) => {
        if (error instanceof RestoreError) {
          throw new UsageError(error.message, error.damaged ? 1 : 2);
        }
        const message = (error as Error).message;
        if (/^no snapshot/.test(message)) throw new UsageError(message);
        throw error;
      });
      bar.end();
      io.stderr(`restored ${result.files} files, ${formatBytes(result.bytes)} into ${target}\n`);
    });
  });
  addStoreOptions(
    restore
      .command('conversations')
      .description('rebuild a conversation store from the shipped conversation log alone')
      .requiredOption('--to <dir>', 'data dir of the rebuilt store (its assistd.db must not exist)')
      .option('--to-database-url <url>', 'rebuild into this PostgreSQL instead (an empty schema)')
      .option('--to-schema <name>', 'the PostgreSQL schema to rebuild into (default public)')
      .option('--until <time>', 'only changes up to this ISO 8601 time'),
  ).action(
    async (
      flags: ConfigFlags & {
        to: string;
        toDatabaseUrl?: string;
        toSchema?: string;
        until?: string;
      },
    ) => {
      const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
      const until = flags.until === undefined ? undefined : Date.parse(flags.until);
      if (until !== undefined && Number.isNaN(until)) {
        throw new UsageError(`--until ${flags.until} is not an ISO 8601 time`);
      }
      const target = resolve(io.cwd, flags.to);
      if (flags.toDatabaseUrl === undefined && existsSync(join(target, 'assistd.db'))) {
        throw new UsageError(`${join(target, 'assistd.db')} exists: restore into a new data dir`);
      }
      // The rebuilt store uses the same master key file as the log (point the server at it).
      const masterKeyFile = config.security.master_key_file ?? join(config.data_dir, 'master.key');
      const targetConfig = loadConfig({
        flags: {
          dataDir: target,
          ...(flags.toDatabaseUrl === undefined ? {} : { databaseUrl: flags.toDatabaseUrl }),
        },
        env: {
          ASSISTD_MASTER_KEY_FILE: masterKeyFile,
          ...(flags.toSchema === undefined ? {} : { ASSISTD_DATABASE_SCHEMA: flags.toSchema }),
        },
        cwd: io.cwd,
        readSecrets: false,
      });
      await withRepository(config, 'read', ({ repository, crypto }) =>
        removedOnFailure(target, async () => {
          // The whole log is read and checked before anything is written: a gap or a damaged
          // segment stops the restore here, and a retry is not refused.
          const bar = progressBar(io, 'chunks');
          const log = await readShippedLog(repository.objects, crypto, bar.update).catch(
            (error: unknown) => {
              if (!(error instanceof RestoreError)) throw error;
              throw new UsageError(
                `${error.message}; nothing was restored into ${describeStore(targetConfig)}`,
                1,
              );
            },
          );
          bar.end();
          const store = await openStore(targetConfig);
          let result;
          try {
            const atRest = await openCrypto({
              masterKeyFile,
              dataDir: target,
              store: store.dataKeys,
              logger: quietLogger,
            });
            try {
              await store.useEncryption(fieldCipher(atRest));
              result = await replayLog(log, store.conversations, until);
            } finally {
              await atRest.close();
            }
          } finally {
            await store.close();
          }
          io.stderr(
            `replayed ${result.records} changes from ${result.segments} segments into ${describeStore(targetConfig)}` +
              `${result.later > 0 ? `; ${result.later} later changes left out` : ''}` +
              `${result.skipped > 0 ? `; ${result.skipped} no longer applied` : ''}\n`,
          );
        }),
      );
    },
  );
  return [backup, restore];
}
