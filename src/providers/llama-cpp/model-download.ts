import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatBytes } from '../../util/format-bytes.js';
import { diskError, ModelDownloadError } from './model-download-errors.js';
import { Connection, type ConnectionOptions } from './model-download-http.js';
import { fetchPart, removePart, type Fetched, type Paths } from './model-download-part.js';
import { Progress, type ProgressSink } from './model-download-progress.js';
import { checkName, nameFromUrl, parseSource, type Source } from './model-download-source.js';
import { inspectModelFile, ModelFileError, type ModelFileReport } from './model-file.js';

export { ModelDownloadError, type DownloadFailure } from './model-download-errors.js';
export type { ProgressSink } from './model-download-progress.js';

/** What to download and where; the connection options (hosts, timeouts, agent) are in the base. */
export interface DownloadModelOptions extends ConnectionOptions {
  /** An http(s) URL. `user:password@` in it becomes Basic auth, sent to that origin only. */
  url: string;
  /** The folder the file lands in; created when missing. */
  directory: string;
  /** The file name, ending in `.gguf`. Default: the URL's last path segment, decoded and sanitized. */
  name?: string | undefined;
  /** Expected SHA-256 of the whole file, hex. A mismatch deletes the download. */
  sha256?: string | undefined;
  /** Replace an existing file of the same name. Default false. */
  force?: boolean | undefined;
  /** An `Authorization` header value (e.g. `Bearer …`), sent to the URL's origin only. */
  authorization?: string | undefined;
  progress?: ProgressSink | undefined;
  /** Aborting leaves the `.part` file for the next run to resume. */
  signal?: AbortSignal | undefined;
  /** Milliseconds, for the progress rate and redraw pacing. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  /** True when `sha256` was given (and matched, or the call would have thrown). */
  verified: boolean;
  /** Bytes a `.part` file from an earlier run contributed; 0 for a fresh download. */
  resumedBytes: number;
  /** Bytes this run received. */
  transferredBytes: number;
  model: ModelFileReport;
}

/**
 * Downloads a GGUF model into `directory` through `<name>.part`, resuming a `.part` left by an
 * earlier run (Range + If-Range with the validator saved in `<name>.part.json`), checks the
 * SHA-256 and that the file is a model llama.cpp can load, then renames it into place durably.
 */
export async function downloadModel(options: DownloadModelOptions): Promise<DownloadResult> {
  const source = parseSource(options.url, options.authorization);
  const name = options.name === undefined ? nameFromUrl(source) : checkName(options.name);
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new ModelDownloadError('usage', 'the SHA-256 must be 64 hex digits');
  }
  const directory = resolve(options.directory);
  const final = join(directory, name);
  const paths = { final, part: `${final}.part`, sidecar: `${final}.part.json` };
  if (options.force !== true) await refuseExisting(final);
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw diskError(error, directory);
  });

  const progress = new Progress(options.progress, options.now ?? Date.now);
  const connection = new Connection(options, source);
  let fetched: Fetched;
  try {
    fetched = await fetchPart(connection, paths, progress, options.signal);
  } catch (error) {
    progress.close();
    // A body that is not a model is no use to resume.
    if (error instanceof ModelDownloadError && error.failure === 'not-a-model')
      await removePart(paths);
    throw await explain(error, source, paths.part, options.signal);
  } finally {
    await connection.close();
  }

  const sha256 = fetched.hash.digest('hex');
  if (expected !== undefined && sha256 !== expected) {
    await removePart(paths);
    throw new ModelDownloadError(
      'integrity',
      `${source.label} has SHA-256 ${sha256}, not the expected ${expected}; the download was deleted`,
    );
  }
  const model = await checkModel(paths, source.label);
  if (options.force !== true) await refuseExisting(final);
  try {
    await rename(paths.part, final);
    await syncDirectory(directory);
  } catch (error) {
    throw diskError(error, final);
  }
  await rm(paths.sidecar, { force: true });
  return {
    path: final,
    bytes: fetched.bytes,
    sha256,
    verified: expected !== undefined,
    resumedBytes: fetched.resumedBytes,
    transferredBytes: fetched.bytes - fetched.resumedBytes,
    model,
  };
}

/** The full model check; a part that fails it is useless, so it is deleted. */
async function checkModel(paths: Paths, label: string): Promise<ModelFileReport> {
  try {
    return await inspectModelFile(paths.part, { maxBatchSize: 1 });
  } catch (error) {
    await removePart(paths);
    if (!(error instanceof ModelFileError)) throw diskError(error, paths.part);
    const prefix = `model file ${paths.part} `;
    const problem = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    throw new ModelDownloadError('not-a-model', `${label} is not a usable model: it ${problem}`);
  }
}

/** Adds what became of the part file to a failure, so the user knows a rerun resumes. */
async function explain(
  error: unknown,
  source: Source,
  part: string,
  signal: AbortSignal | undefined,
): Promise<ModelDownloadError> {
  const kept = await stat(part).then(
    (info) => info.size,
    () => 0,
  );
  const resume = `${formatBytes(kept)} kept in ${part}; run the same command again to resume`;
  if (signal?.aborted === true) {
    const message = `download of ${source.label} interrupted`;
    return new ModelDownloadError('aborted', kept > 0 ? `${message}; ${resume}` : message);
  }
  const failure =
    error instanceof ModelDownloadError
      ? error
      : new ModelDownloadError(
          'disk',
          `cannot download ${source.label}: ${(error as Error).message}`,
        );
  if (kept === 0 || !['network', 'disk', 'http'].includes(failure.failure)) return failure;
  return new ModelDownloadError(failure.failure, `${failure.message}; ${resume}`, failure.status);
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new ModelDownloadError('exists', `${path} already exists; pass --force to replace it`);
  }
}

/** Makes the rename durable. Some systems cannot open a folder for syncing; that is not an error. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
