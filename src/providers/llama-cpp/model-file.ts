import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StartupError } from '../startup-error.js';
import { ggmlTypes } from './gguf-format.js';
import { GgufFormatError, readGgufHeader, type GgufHeader } from './gguf-header.js';
import { supportedArchitectures } from './supported-architectures.js';

/** A model file that cannot be used; the message names the file and the problem. */
export class ModelFileError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export interface InspectOptions {
  /** Sequences decoded together (the server's max_batch_size); each holds its own KV cache. */
  maxBatchSize: number;
  /** Tokens of context per sequence. Default: the context length the model was trained with. */
  contextSize?: number;
}

export interface TensorTypeCount {
  /** ggml's name, e.g. `Q8_0`. */
  type: string;
  /** The name for people, e.g. `Q8_0 (INT8)`. */
  label: string;
  count: number;
  bytes: number;
}

export interface ModelFileReport {
  /** The `.gguf` file itself (resolved when a folder was given). */
  path: string;
  fileBytes: number;
  ggufVersion: number;
  architecture: string;
  name: string | undefined;
  parameters: number;
  /** Most bytes first. */
  tensorTypes: TensorTypeCount[];
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  blockCount: number | undefined;
  vocabularySize: number | undefined;
  hasChatTemplate: boolean;
  memory: MemoryEstimate;
  warnings: string[];
}

export interface MemoryEstimate {
  weightsBytes: number;
  contextSize: number;
  maxBatchSize: number;
  /** F16 keys and values for one token in every layer; undefined when the metadata cannot tell. */
  kvBytesPerToken: number | undefined;
  kvBytesPerSequence: number | undefined;
  /** Weights + KV cache of every sequence; leaves out compute buffers (tens of MB). */
  totalBytes: number | undefined;
}

const typeLabels: Readonly<Record<string, string>> = { Q8_0: 'Q8_0 (INT8)' };

/**
 * Resolves a model path (a `.gguf` file, or a folder holding exactly one) and checks the file
 * without loading its weights: a readable GGUF header, tensor data that fits in the file, an
 * architecture node-llama-cpp can run, and (for llama) every tensor llama.cpp requires. Returns
 * what it found and an estimate of the memory it needs; throws a ModelFileError otherwise.
 */
export async function inspectModelFile(
  path: string,
  options: InspectOptions,
): Promise<ModelFileReport> {
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  const file = await resolveModelFile(path);
  let header: GgufHeader;
  try {
    header = await readGgufHeader(file);
  } catch (error) {
    if (error instanceof GgufFormatError)
      throw new ModelFileError(`model file ${file} ${error.message}`);
    throw new ModelFileError(`model file ${file} cannot be read (${describe(error)})`);
  }
  const metadata = new MetadataView(file, header);
  const architecture = metadata.string('general.architecture');
  if (architecture === undefined) {
    throw new ModelFileError(`model file ${file} has no general.architecture`);
  }
  if (!(await supportedArchitectures()).has(architecture)) {
    throw new ModelFileError(
      `model file ${file} has architecture "${architecture}", which node-llama-cpp cannot run`,
    );
  }
  if (architecture === 'llama') checkLlamaFile(file, header, metadata);
  else requireTensors(file, header, ['token_embd.weight']);

  const contextLength = metadata.number(`${architecture}.context_length`);
  const asked = options.contextSize ?? contextLength ?? 4096;
  const warnings: string[] = [];
  // The server uses the trained length past it: the memory it needs is estimated for that.
  let contextSize = asked;
  if (contextLength !== undefined && asked > contextLength) {
    contextSize = contextLength;
    warnings.push(
      `context size ${asked} is larger than the ${contextLength} tokens the model was trained on; ${contextLength} is used`,
    );
  }
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  return {
    path: file,
    fileBytes: header.fileSize,
    ggufVersion: header.version,
    architecture,
    name: metadata.string('general.name'),
    parameters: header.tensors.reduce(
      (sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1),
      0,
    ),
    tensorTypes: countTensorTypes(header),
    contextLength,
    embeddingLength: metadata.number(`${architecture}.embedding_length`),
    blockCount: metadata.number(`${architecture}.block_count`),
    vocabularySize: typeof tokens === 'object' ? tokens.length : undefined,
    hasChatTemplate: metadata.string('tokenizer.chat_template') !== undefined,
    memory: estimateMemory(header, metadata, architecture, {
      maxBatchSize: options.maxBatchSize,
      contextSize,
    }),
    warnings,
  };
}

/** A `.gguf` file, or the one `.gguf` file in a folder. */
export async function resolveModelFile(path: string): Promise<string> {
  const absolute = resolve(path);
  const info = await statModelPath(absolute, 'model path');
  if (info.isFile()) return absolute;
  if (!info.isDirectory()) {
    throw new ModelFileError(`model path ${absolute} is not a file or folder`);
  }
  let entries;
  try {
    entries = await readdir(absolute, { withFileTypes: true });
  } catch (error) {
    throw new ModelFileError(`model folder ${absolute} cannot be read (${describe(error)})`);
  }
  const models = entries
    .filter((entry) => !entry.isDirectory() && entry.name.toLowerCase().endsWith('.gguf'))
    .map((entry) => entry.name)
    .sort();
  const [only] = models;
  if (only === undefined) throw new ModelFileError(`model folder ${absolute} holds no .gguf file`);
  if (models.length > 1) {
    throw new ModelFileError(
      `model folder ${absolute} holds ${models.length} .gguf files (${models.join(', ')}); name one of them`,
    );
  }
  const file = join(absolute, only);
  // Through a link, or a pipe named *.gguf, which would block the reader forever.
  if (!(await statModelPath(file, 'model file')).isFile()) {
    throw new ModelFileError(`model file ${file} is not a regular file`);
  }
  return file;
}

async function statModelPath(path: string, what: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      code === 'ENOENT'
        ? `${what} ${path} does not exist`
        : `${what} ${path} cannot be read (${describe(error)})`,
    );
  }
}

function checkLlamaFile(file: string, header: GgufHeader, metadata: MetadataView): void {
  const blockCount = metadata.required('llama.block_count');
  const embeddingLength = metadata.required('llama.embedding_length');
  metadata.required('llama.context_length');
  metadata.required('llama.attention.head_count');
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  if (typeof tokens !== 'object') {
    throw new ModelFileError(`model file ${file} has no tokenizer.ggml.tokens vocabulary`);
  }
  const experts = metadata.number('llama.expert_count') ?? 0;
  const feedForward =
    experts > 0
      ? ['ffn_gate_inp', 'ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps']
      : ['ffn_gate', 'ffn_up', 'ffn_down'];
  const layer = [
    'attn_norm',
    'attn_q',
    'attn_k',
    'attn_v',
    'attn_output',
    'ffn_norm',
    ...feedForward,
  ];
  const required = ['token_embd.weight', 'output_norm.weight'];
  for (let index = 0; index < blockCount; index++) {
    required.push(...layer.map((name) => `blk.${index}.${name}.weight`));
  }
  requireTensors(file, header, required);
  const embedding = header.tensors.find((tensor) => tensor.name === 'token_embd.weight');
  const expected = [embeddingLength, tokens.length];
  if (embedding !== undefined && embedding.dims.join() !== expected.join()) {
    throw new ModelFileError(
      `model file ${file} has token_embd.weight of shape [${embedding.dims.join(', ')}], expected [${expected.join(', ')}] (embedding length × vocabulary size)`,
    );
  }
}

function requireTensors(file: string, header: GgufHeader, names: readonly string[]): void {
  const present = new Set(header.tensors.map((tensor) => tensor.name));
  const missing = names.filter((name) => !present.has(name));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '');
    throw new ModelFileError(
      `model file ${file} is missing ${missing.length} required tensor${missing.length === 1 ? '' : 's'}: ${shown}`,
    );
  }
}

function countTensorTypes(header: GgufHeader): TensorTypeCount[] {
  const counts = new Map<string, TensorTypeCount>();
  for (const tensor of header.tensors) {
    const type = ggmlTypes.get(tensor.typeId)?.name ?? `type ${tensor.typeId}`;
    const entry = counts.get(type) ?? { type, label: typeLabels[type] ?? type, count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += tensor.bytes;
    counts.set(type, entry);
  }
  return [...counts.values()].sort((a, b) => b.bytes - a.bytes);
}

/**
 * KV cache per token (F16) = 2 bytes × Σ over layers of kv_heads × (key size + value size);
 * with the same head size for keys and values that is 2 × layers × kv_heads × head_dim × 2.
 */
function estimateMemory(
  header: GgufHeader,
  metadata: MetadataView,
  architecture: string,
  sizes: { maxBatchSize: number; contextSize: number },
): MemoryEstimate {
  const weightsBytes = header.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
  const layers = metadata.number(`${architecture}.block_count`);
  const embedding = metadata.number(`${architecture}.embedding_length`);
  const heads = metadata.perLayer(`${architecture}.attention.head_count`, layers);
  const kvHeads = metadata.perLayer(`${architecture}.attention.head_count_kv`, layers) ?? heads;
  let kvBytesPerToken: number | undefined;
  if (
    layers !== undefined &&
    embedding !== undefined &&
    heads !== undefined &&
    kvHeads !== undefined
  ) {
    kvBytesPerToken = 0;
    for (let layer = 0; layer < layers; layer++) {
      const headSize = embedding / (heads[layer] ?? 1);
      const keySize = metadata.number(`${architecture}.attention.key_length`) ?? headSize;
      const valueSize = metadata.number(`${architecture}.attention.value_length`) ?? headSize;
      kvBytesPerToken += 2 * (kvHeads[layer] ?? 0) * (keySize + valueSize);
    }
  }
  const kvBytesPerSequence =
    kvBytesPerToken === undefined ? undefined : kvBytesPerToken * sizes.contextSize;
  return {
    weightsBytes,
    contextSize: sizes.contextSize,
    maxBatchSize: sizes.maxBatchSize,
    kvBytesPerToken,
    kvBytesPerSequence,
    totalBytes:
      kvBytesPerSequence === undefined
        ? undefined
        : weightsBytes + kvBytesPerSequence * sizes.maxBatchSize,
  };
}

/** Typed reads of metadata; a value of the wrong type counts as absent. */
class MetadataView {
  constructor(
    private readonly file: string,
    private readonly header: GgufHeader,
  ) {}

  string(key: string): string | undefined {
    const value = this.header.metadata.get(key);
    return typeof value === 'string' ? value : undefined;
  }

  number(key: string): number | undefined {
    const value = this.header.metadata.get(key);
    return typeof value === 'number' ? value : undefined;
  }

  /** A positive integer llama.cpp needs to load the model. */
  required(key: string): number {
    const value = this.number(key);
    if (value === undefined || !Number.isInteger(value) || value < 1) {
      throw new ModelFileError(
        `model file ${this.file} lacks the metadata ${key} (a positive integer)`,
      );
    }
    return value;
  }

  /** A setting that is either one number or one per layer (as some architectures store it). */
  perLayer(key: string, layers: number | undefined): number[] | undefined {
    const value = this.header.metadata.get(key);
    if (layers === undefined) return undefined;
    if (typeof value === 'number') return Array.from({ length: layers }, () => value);
    if (typeof value === 'object' && value.numbers?.length === layers) return value.numbers;
    return undefined;
  }
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
