import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { inspectModelFile, type ModelFileReport } from '../providers/llama-cpp/model-file.js';
import {
  writeTinyModel,
  type TinyModelMode,
  type TinyModelType,
} from '../providers/tiny-model/tiny-model.js';
import { UsageError, type CliIo } from './io.js';

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

/** `assistd models …`: look inside local GGUF model files and write tiny ones for tests. */
export function modelsCommand(io: CliIo): Command {
  // Subcommands made with .command() inherit these; a command added with addCommand does not.
  const models = new Command('models')
    .description('inspect local GGUF models; write tiny ones')
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

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function formatCount(count: number): string {
  if (count < 1000) return String(count);
  const [scale, suffix] = count >= 1e9 ? [1e9, 'B'] : count >= 1e6 ? [1e6, 'M'] : [1e3, 'K'];
  const value = count / scale;
  return `${value.toFixed(value < 10 ? 2 : 1)}${suffix}`;
}
