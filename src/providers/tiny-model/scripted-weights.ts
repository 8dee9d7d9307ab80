import type { GgufTensor } from './gguf-writer.js';
import { layerTensors, type TinyModelShape } from './model-shape.js';
import type { Vocabulary } from './vocabulary.js';

/**
 * The logit the next script token gets; every other token gets 0. At temperature T the chance of
 * leaving the script at one step is below vocabularySize × e^(−margin/T): about 3e-12 for 300
 * tokens at T = 2, so sampling follows the script too.
 */
export const logitMargin = 64;

/**
 * Weights that make a llama model answer a fixed script to any prompt.
 *
 * - `attn_output` and `ffn_down` are zero, so each layer adds nothing and the residual stream at
 *   every position is that position's token embedding. Q, K, V, gate and up stay random, so every
 *   matrix product and the KV cache are still computed as for a real model.
 * - Embeddings are one-hot: script piece i (1-based) points along axis i; every other token (the
 *   whole prompt, which always tokenizes to byte and control tokens) shares axis 0, "start".
 * - The final RMS norm turns a one-hot vector into √dim on its axis, so `output.weight` holds
 *   margin/√dim at (next token, axis): start → piece 1, piece i → piece i+1, last piece → EOS.
 *
 * Only the last position's logits pick the next token, and attention cannot carry anything into
 * it, so what the prompt says never matters.
 */
export function scriptedWeights(
  shape: TinyModelShape,
  vocabulary: Vocabulary,
  pieceCount: number,
  random: () => number,
): GgufTensor[] {
  const dim = shape.embeddingLength;
  const vocabularySize = vocabulary.tokens.length;
  const axisOf = (token: number) =>
    token >= vocabulary.firstPieceId ? token - vocabulary.firstPieceId + 1 : 0;
  const nextAfterAxis = (axis: number) =>
    axis < pieceCount ? vocabulary.firstPieceId + axis : vocabulary.eosId;

  return layerTensors(shape, vocabularySize, (dims, name) => {
    const values = new Float32Array(dims.reduce((product, size) => product * size, 1));
    if (dims.length === 1) return values.fill(1);
    if (name === 'token_embd.weight') {
      for (let token = 0; token < vocabularySize; token++) values[token * dim + axisOf(token)] = 1;
      return values;
    }
    if (name === 'output.weight') {
      const weight = logitMargin / Math.sqrt(dim);
      for (let axis = 0; axis <= pieceCount; axis++) {
        values[nextAfterAxis(axis) * dim + axis] = weight;
      }
      return values;
    }
    if (name.endsWith('attn_output.weight') || name.endsWith('ffn_down.weight')) return values;
    const bound = 1 / Math.sqrt(dims[0] ?? 1);
    for (let index = 0; index < values.length; index++) values[index] = (random() * 2 - 1) * bound;
    return values;
  });
}
