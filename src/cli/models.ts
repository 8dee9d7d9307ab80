import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { DownloadResult, ModelDownloadError } from '../providers/llama-cpp/model-download.js';
import { inspectModelFile, type ModelFileReport } from '../providers/llama-cpp/model-file.js';
import {
  writeTinyModel,
  type TinyModelMode,
  type TinyModelType,
} from '../providers/tiny-model/tiny-model.js';
import { formatBytes } from '../util/format-bytes.js';
import { processIo, UsageError, type CliIo } from './io.js';

interface InspectFlags {
  maxBatchSize: number;
  contextSize?: number;
  json?: boolean;
}

interface MakeTinyFlags {
  type: TinyModelType;
  mode: TinyModelMode;
  script?: string;
  seed: number;
  dim?: number;
  layers?: number;
  json?: boolean;
}

interface PullFlags {
  sha256?: string;
  to: string;
  name?: string;
  force?: boolean;
  tokenFile?: string;
  allowHost?: string[];
  connectTimeout: number;
  idleTimeout: number;
  json?: boolean;
}

/** Where `pull` saves models when --to is not given, relative to the working folder. */
const defaultModelsFolder = 'models';

const pullHelp = `
The file is written to <name>.part (beside a small <name>.part.json) and renamed once it is
complete and checked, so a file under the final name is always whole. Run the same command
again to resume an interrupted download; Ctrl-C keeps the .part for that.

Exit codes: 0 saved; 1 network, server (5xx) or disk trouble; 2 something to fix (the URL, a 4xx
answer, the checksum, a file that is not a usable model, a file in the way); 130 interrupted.
`;

/**
 * `assistd models …`: download GGUF models, look inside local ones, and write tiny ones for tests.
 */
export function modelsCommand(io: CliIo): Command {
  // Subcommands made with .command() inherit these; a command added with addCommand does not.
  const models = new Command('models')
    .description('download GGUF models; inspect local ones; write tiny ones')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  models
    .command('inspect')
    .description('check a GGUF model file (or a folder holding one) and estimate its memory')
    .argument('<path>', 'a .gguf file, or a folder holding exactly one')
    .option(
      '--max-batch-size <n>',
      'sequences decoded together, each with a KV cache',
      integer(1),
      16,
    )
    .option(
      '--context-size <n>',
      "tokens per sequence (default: the model's context length)",
      integer(1),
    )
    .option('--json', 'print the report as JSON')
    .action(async (path: string, flags: InspectFlags) => {
      const report = await inspectModelFile(resolve(io.cwd, path), {
        maxBatchSize: flags.maxBatchSize,
        contextSize: flags.contextSize,
      });
      io.stdout(
        flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report),
      );
    });

  models
    .command('pull')
    .description(
      'download a GGUF model over http(s), resuming an interrupted download, and check it',
    )
    .argument('<url>', 'the .gguf file to download')
    .option('--sha256 <hex>', 'expected SHA-256; a download that differs is deleted', sha256)
    .option(
      '--to <dir>',
      'folder to save it in, relative to the working folder',
      defaultModelsFolder,
    )
    .option('--name <file>', "file name, ending in .gguf (default: the URL's last segment)")
    .option('--force', 'replace a file of that name')
    .option('--token-file <file>', "file holding a bearer token, sent to the URL's origin only")
    .option(
      '--allow-host <host>',
      'allow this host even though it is a cloud metadata address (repeatable)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--connect-timeout <seconds>', 'seconds to open a connection', integer(1), 15)
    .option(
      '--idle-timeout <seconds>',
      'seconds to wait for an answer, and between chunks of data',
      integer(1),
      60,
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', pullHelp)
    .action(async (url: string, flags: PullFlags) => {
      const authorization =
        flags.tokenFile === undefined
          ? undefined
          : `Bearer ${await readToken(io, flags.tokenFile)}`;
      // Ctrl-C aborts the download, which keeps the .part file; a second Ctrl-C kills as usual.
      const controller = new AbortController();
      const interrupt = () => controller.abort();
      process.once('SIGINT', interrupt);
      const { downloadModel, ModelDownloadError } =
        await import('../providers/llama-cpp/model-download.js');
      let result: DownloadResult;
      try {
        result = await downloadModel({
          url,
          directory: resolve(io.cwd, flags.to),
          name: flags.name,
          sha256: flags.sha256,
          force: flags.force,
          authorization,
          allowHosts: flags.allowHost,
          connectTimeoutMs: flags.connectTimeout * 1000,
          idleTimeoutMs: flags.idleTimeout * 1000,
          // CliIo cannot tell whether stderr is a terminal; only the real process's can be.
          progress: { write: io.stderr, isTTY: io === processIo && process.stderr.isTTY === true },
          signal: controller.signal,
        });
      } catch (error) {
        if (error instanceof ModelDownloadError) {
          throw new UsageError(error.message, pullExitCode(error));
        }
        throw error;
      } finally {
        process.off('SIGINT', interrupt);
      }
      io.stdout(
        flags.json === true
          ? `${JSON.stringify(pullSummary(result), null, 2)}\n`
          : describePull(result),
      );
    });

  models
    .command('make-tiny')
    .description('write a tiny llama GGUF model: a scripted demo answer, or random weights')
    .argument('<out>', 'the .gguf file to write (replaced if it exists)')
    .addOption(
      new Option('--type <type>', 'type of the weight matrices')
        .choices(['f32', 'f16', 'q8_0'])
        .default('q8_0'),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'scripted: one fixed answer to any prompt; random: random weights',
      )
        .choices(['scripted', 'random'])
        .default('scripted'),
    )
    .option('--script <text>', 'the answer of a scripted model (default: the demo notice)')
    .option('--seed <n>', 'seed of the random weights (same seed, same file)', integer(0), 1)
    .option('--dim <n>', 'embedding length (default: 64, or what the script needs)', integer(1))
    .option('--layers <n>', 'transformer layers (default: 2)', integer(1))
    .option('--json', 'print the summary as JSON')
    .action(async (out: string, flags: MakeTinyFlags) => {
      if (flags.script !== undefined && flags.mode !== 'scripted') {
        throw new UsageError('--script needs --mode scripted');
      }
      const path = resolve(io.cwd, out);
      const started = performance.now();
      let summary;
      try {
        // A model folder (what --model-path names) may not exist yet.
        mkdirSync(dirname(path), { recursive: true });
        summary = await writeTinyModel(path, {
          type: flags.type,
          mode: flags.mode,
          script: flags.script,
          seed: flags.seed,
          embeddingLength: flags.dim,
          blockCount: flags.layers,
        });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message);
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== undefined) throw new UsageError(`cannot write ${path} (${code})`);
        throw error;
      }
      const milliseconds = Math.round(performance.now() - started);
      if (flags.json === true) {
        const { pieces, ...sizes } = summary;
        const result = {
          path,
          type: flags.type,
          mode: flags.mode,
          ...sizes,
          scriptPieces: pieces.length,
          milliseconds,
        };
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      io.stdout(
        `wrote ${path}: ${flags.mode} llama model, ${flags.type}, ` +
          `${summary.embeddingLength} dims × ${summary.blockCount} layers, ` +
          `${formatCount(summary.parameters)} parameters, ${formatBytes(summary.bytes)} in ${milliseconds} ms\n`,
      );
    });

  return models;
}

/** A commander parser for integers ≥ `minimum`; a bad value exits with code 2 and a message. */
function integer(minimum: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < minimum) {
      throw new InvalidArgumentError(`expected an integer ≥ ${minimum}`);
    }
    return parsed;
  };
}

/** A commander parser for a SHA-256 in hex. */
function sha256(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('expected 64 hex digits');
  return value.toLowerCase();
}

async function readToken(io: CliIo, file: string): Promise<string> {
  const path = resolve(io.cwd, file);
  const token = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    (error: unknown) => {
      throw new UsageError(
        `cannot read --token-file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    },
  );
  if (token === '' || /\s/.test(token))
    throw new UsageError(`--token-file ${path} must hold one token`);
  return token;
}

/**
 * 2 for what the user can fix (a wrong URL, name or checksum, a 4xx, a file in the way),
 * 130 for Ctrl-C (as a shell reports it), 1 for the network, the server's 5xx and the disk.
 */
function pullExitCode(error: ModelDownloadError): number {
  switch (error.failure) {
    case 'aborted':
      return 130;
    case 'network':
    case 'disk':
      return 1;
    case 'http':
      return error.status !== undefined && error.status >= 400 && error.status < 500 ? 2 : 1;
    default:
      return 2;
  }
}

function pullSummary(result: DownloadResult) {
  const { model, ...rest } = result;
  return { ...rest, architecture: model.architecture, parameters: model.parameters };
}

function describePull(result: DownloadResult): string {
  const resumed =
    result.resumedBytes > 0 ? `, resumed after ${formatBytes(result.resumedBytes)}` : '';
  const check = result.verified
    ? 'matches --sha256'
    : `(not checked; pin it with --sha256 ${result.sha256})`;
  return (
    `saved ${result.path}: ${result.model.architecture} model, ${formatCount(result.model.parameters)} ` +
    `parameters, ${formatBytes(result.bytes)}${resumed}\nsha256 ${result.sha256} ${check}\n`
  );
}

function describeReport(report: ModelFileReport): string {
  const { memory } = report;
  const types = report.tensorTypes.map((entry) => `${entry.label} × ${entry.count}`).join(', ');
  const name = report.name === undefined ? '' : ` (${report.name})`;
  const lines = [
    report.path,
    ['architecture', `${report.architecture}${name}, GGUF v${report.ggufVersion}`],
    ['parameters', formatCount(report.parameters)],
    ['tensor types', types],
    ['file size', formatBytes(report.fileBytes)],
    [
      'context length',
      report.contextLength === undefined ? 'not stated' : `${report.contextLength} tokens`,
    ],
    [
      'vocabulary',
      report.vocabularySize === undefined ? 'not stated' : `${report.vocabularySize} tokens`,
    ],
    ['chat template', report.hasChatTemplate ? 'yes' : 'no (a generic chat format will be used)'],
    ['memory (est.)', describeMemory(memory)],
    ...report.warnings.map((warning) => ['warning', warning] as const),
  ];
  return `${lines.map((line) => (typeof line === 'string' ? line : `  ${line[0].padEnd(15)} ${line[1]}`)).join('\n')}\n`;
}

function describeMemory(memory: ModelFileReport['memory']): string {
  const weights = `${formatBytes(memory.weightsBytes)} weights`;
  if (memory.kvBytesPerToken === undefined || memory.totalBytes === undefined) {
    return `${weights} + KV cache (unknown for this architecture)`;
  }
  return (
    `${formatBytes(memory.totalBytes)} = ${weights} + ${memory.maxBatchSize} sequences × ` +
    `${memory.contextSize} tokens × ${formatBytes(memory.kvBytesPerToken)}/token KV cache (F16)`
  );
}

function formatCount(count: number): string {
  if (count < 1000) return String(count);
  const [scale, suffix] = count >= 1e9 ? [1e9, 'B'] : count >= 1e6 ? [1e6, 'M'] : [1e3, 'K'];
  const value = count / scale;
  return `${value.toFixed(value < 10 ? 2 : 1)}${suffix}`;
}
