import { alignUp } from '../llama-cpp/gguf-format.js';
import type { GgufTensor } from './gguf-writer.js';
import type { TensorType } from './tensor-encoding.js';
import type { TinyModelOptions, TinyModelType } from './tiny-model.js';

/** The model's shape once defaults are applied. */
export interface TinyModelShape {
  type: TensorType;
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
}

const tensorTypes: Record<TinyModelType, TensorType> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0' };

/** Applies the defaults and checks the shape; `directions` is how many the script needs. */
export function resolveShape(options: TinyModelOptions, directions: number): TinyModelShape {
  const type = tensorTypes[options.type ?? 'q8_0'];
  const needed = Math.max(64, alignUp(directions, 32));
  const embeddingLength = options.embeddingLength ?? needed;
  const blockCount = options.blockCount ?? 2;
  const headCount = options.headCount ?? defaultHeadCount(embeddingLength);
  const headCountKv = options.headCountKv ?? headCount;
  const feedForwardLength = options.feedForwardLength ?? alignUp(embeddingLength * 2.75, 32);
  const contextLength = options.contextLength ?? 4096;

  const positive = {
    embeddingLength,
    blockCount,
    headCount,
    headCountKv,
    feedForwardLength,
    contextLength,
  };
  for (const [name, value] of Object.entries(positive)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }
  if (embeddingLength < directions) {
    throw new RangeError(
      `embeddingLength ${embeddingLength} is too small for the script: it needs ${directions} (one per piece + 1)`,
    );
  }
  const headSize = embeddingLength / headCount;
  if (!Number.isInteger(headSize) || headSize % 2 !== 0) {
    throw new RangeError(
      `embeddingLength ${embeddingLength} must split into ${headCount} heads of an even size`,
    );
  }
  if (headCount % headCountKv !== 0) {
    throw new RangeError(`headCount ${headCount} must be a multiple of headCountKv ${headCountKv}`);
  }
  if (type === 'Q8_0' && (embeddingLength % 32 !== 0 || feedForwardLength % 32 !== 0)) {
    throw new RangeError('q8_0 needs embeddingLength and feedForwardLength to be multiples of 32');
  }
  return { type, ...positive };
}

/** The most heads of size ≥ 64 (even, dividing the width), or one head for narrow models. */
function defaultHeadCount(embeddingLength: number): number {
  for (let heads = Math.floor(embeddingLength / 64); heads > 1; heads--) {
    const size = embeddingLength / heads;
    if (Number.isInteger(size) && size % 2 === 0) return heads;
  }
  return 1;
}

/**
 * The tensors of a llama model in file order. `fill(dims, name)` makes a tensor's values; it runs
 * when the writer reaches that tensor.
 */
export function layerTensors(
  shape: TinyModelShape,
  vocabularySize: number,
  fill: (dims: readonly number[], name: string) => Float32Array,
): GgufTensor[] {
  const dim = shape.embeddingLength;
  const kvWidth = (dim / shape.headCount) * shape.headCountKv;
  const ff = shape.feedForwardLength;
  const tensor = (name: string, dims: number[]): GgufTensor => ({
    name,
    dims,
    type: dims.length === 1 ? 'F32' : shape.type,
    values: () => fill(dims, name),
  });
  const tensors = [tensor('token_embd.weight', [dim, vocabularySize])];
  for (let layer = 0; layer < shape.blockCount; layer++) {
    const prefix = `blk.${layer}.`;
    tensors.push(
      tensor(`${prefix}attn_norm.weight`, [dim]),
      tensor(`${prefix}attn_q.weight`, [dim, dim]),
      tensor(`${prefix}attn_k.weight`, [dim, kvWidth]),
      tensor(`${prefix}attn_v.weight`, [dim, kvWidth]),
      tensor(`${prefix}attn_output.weight`, [dim, dim]),
      tensor(`${prefix}ffn_norm.weight`, [dim]),
      tensor(`${prefix}ffn_gate.weight`, [dim, ff]),
      tensor(`${prefix}ffn_up.weight`, [dim, ff]),
      tensor(`${prefix}ffn_down.weight`, [ff, dim]),
    );
  }
  tensors.push(tensor('output_norm.weight', [dim]), tensor('output.weight', [dim, vocabularySize]));
  return tensors;
}
