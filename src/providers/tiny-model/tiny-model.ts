import { gguf, writeGgufFile, type GgufTensor } from './gguf-writer.js';
import { layerTensors, resolveShape, type TinyModelShape } from './model-shape.js';
import { scriptedWeights } from './scripted-weights.js';
import { splitScript } from './script-pieces.js';
import { seededRandom } from './seeded-random.js';
import { buildVocabulary, chatMlTemplate, type Vocabulary } from './vocabulary.js';

/** What the demo model says, whatever it is asked. */
export const defaultScript =
  'This is the assistd demo model. Its answers are canned; configure a real model with --model-path or --model-endpoint.';

export type TinyModelType = 'f32' | 'f16' | 'q8_0';
export type TinyModelMode = 'random' | 'scripted';

export interface TinyModelOptions {
  /** Type of the 2-D weight tensors; norms stay F32 as in real models. Default `q8_0`. */
  type?: TinyModelType;
  /**
   * `scripted` (default): answers `script` to any prompt, greedy or sampled.
   * `random`: random weights, gibberish answers; for load and throughput tests.
   */
  mode?: TinyModelMode;
  /** The scripted answer. Default {@link defaultScript}. */
  script?: string;
  /** Seeds the random weights; the same options give the same file, byte for byte. Default 1. */
  seed?: number;
  /**
   * Width of the residual stream. Default 64 in random mode; in scripted mode the number of
   * script pieces + 1 rounded up to a multiple of 32, and at least 64.
   */
  embeddingLength?: number;
  /** Transformer layers. Default 2. */
  blockCount?: number;
  /** Attention heads. Default: a head size of 64 where the width allows, else fewer heads. */
  headCount?: number;
  /** Key/value heads (grouped-query attention when fewer than `headCount`). Default `headCount`. */
  headCountKv?: number;
  /** Hidden width of the feed-forward network. Default 2.75 × embeddingLength, rounded up to 32. */
  feedForwardLength?: number;
  /** Trained context length the file declares, in tokens. Default 4096. */
  contextLength?: number;
}

export interface TinyModelSummary {
  bytes: number;
  parameters: number;
  embeddingLength: number;
  blockCount: number;
  vocabularySize: number;
  /** The script's vocabulary pieces (scripted mode only; U+2581 stands for a space). */
  pieces: string[];
}

/** Writes a llama-architecture GGUF model that llama.cpp (and node-llama-cpp) can run. */
export async function writeTinyModel(
  path: string,
  options: TinyModelOptions = {},
): Promise<TinyModelSummary> {
  const mode = options.mode ?? 'scripted';
  const pieces = mode === 'scripted' ? splitScript(options.script ?? defaultScript) : [];
  const vocabulary = buildVocabulary(pieces);
  const shape = resolveShape(options, mode === 'scripted' ? pieces.length + 1 : 0);
  const random = seededRandom(options.seed ?? 1);
  const tensors =
    mode === 'scripted'
      ? scriptedWeights(shape, vocabulary, pieces.length, random)
      : randomWeights(shape, vocabulary.tokens.length, random);
  const bytes = await writeGgufFile(path, {
    metadata: modelMetadata(shape, vocabulary, mode),
    tensors,
  });
  const parameters = tensors.reduce(
    (sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1),
    0,
  );
  return {
    bytes,
    parameters,
    embeddingLength: shape.embeddingLength,
    blockCount: shape.blockCount,
    vocabularySize: vocabulary.tokens.length,
    pieces,
  };
}

function modelMetadata(shape: TinyModelShape, vocabulary: Vocabulary, mode: TinyModelMode) {
  const headSize = shape.embeddingLength / shape.headCount;
  return {
    'general.architecture': gguf.string('llama'),
    'general.name': gguf.string(`assistd tiny ${mode}`),
    'general.file_type': gguf.u32({ F32: 0, F16: 1, Q8_0: 7 }[shape.type]),
    'llama.context_length': gguf.u32(shape.contextLength),
    'llama.embedding_length': gguf.u32(shape.embeddingLength),
    'llama.block_count': gguf.u32(shape.blockCount),
    'llama.feed_forward_length': gguf.u32(shape.feedForwardLength),
    'llama.attention.head_count': gguf.u32(shape.headCount),
    'llama.attention.head_count_kv': gguf.u32(shape.headCountKv),
    'llama.rope.dimension_count': gguf.u32(headSize),
    'llama.attention.layer_norm_rms_epsilon': gguf.f32(1e-5),
    'llama.vocab_size': gguf.u32(vocabulary.tokens.length),
    'tokenizer.ggml.model': gguf.string('llama'),
    'tokenizer.ggml.tokens': gguf.strings(vocabulary.tokens),
    'tokenizer.ggml.scores': {
      type: 'array',
      itemType: 'f32',
      values: new Float32Array(vocabulary.tokens.length),
    },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', values: vocabulary.types },
    'tokenizer.ggml.unknown_token_id': gguf.u32(vocabulary.unknownId),
    'tokenizer.ggml.bos_token_id': gguf.u32(vocabulary.bosId),
    'tokenizer.ggml.eos_token_id': gguf.u32(vocabulary.eosId),
    'tokenizer.ggml.add_bos_token': gguf.bool(true),
    'tokenizer.ggml.add_eos_token': gguf.bool(false),
    // No leading "▁" is added to prompts and none is stripped from the first answer piece.
    'tokenizer.ggml.add_space_prefix': gguf.bool(false),
    'tokenizer.chat_template': gguf.string(chatMlTemplate),
  } as const;
}

/** Every weight drawn uniformly from ±1/√(row length); norms are 1. */
function randomWeights(
  shape: TinyModelShape,
  vocabularySize: number,
  random: () => number,
): GgufTensor[] {
  return layerTensors(shape, vocabularySize, (dims) => {
    const values = new Float32Array(dims.reduce((product, dim) => product * dim, 1));
    if (dims.length === 1) return values.fill(1);
    const bound = 1 / Math.sqrt(dims[0] ?? 1);
    for (let index = 0; index < values.length; index++) values[index] = (random() * 2 - 1) * bound;
    return values;
  });
}
