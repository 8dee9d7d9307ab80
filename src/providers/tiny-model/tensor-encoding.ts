import { endianness } from 'node:os';
import { fromHalfBits, toHalfBits } from './half-float.js';

/** The tensor element types the tiny-model writer produces. */
export type TensorType = 'F32' | 'F16' | 'Q8_0';

/** Q8_0 packs 32 weights per block: `struct block_q8_0 { ggml_half d; int8_t qs[32]; }`. */
export const q8BlockSize = 32;
const q8BlockBytes = 2 + q8BlockSize;

// Typed arrays use the machine's byte order and GGUF is little-endian; every platform Node ships
// prebuilt binaries for (and that llama.cpp runs on) is little-endian, so refuse the rest loudly.
if (endianness() !== 'LE') {
  throw new Error('the GGUF writer needs a little-endian machine');
}

/** Bytes that `count` elements of `type` take. */
export function encodedByteLength(type: TensorType, count: number): number {
  switch (type) {
    case 'F32':
      return count * 4;
    case 'F16':
      return count * 2;
    case 'Q8_0':
      return (count / q8BlockSize) * q8BlockBytes;
  }
}

/** Encodes tensor values as GGUF stores them. Q8_0 needs a multiple of 32 values. */
export function encodeTensor(values: Float32Array, type: TensorType): Buffer {
  switch (type) {
    case 'F32':
      return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': {
      const halves = new Uint16Array(values.length);
      for (let index = 0; index < values.length; index++) {
        halves[index] = toHalfBits(values[index] ?? 0);
      }
      return Buffer.from(halves.buffer);
    }
    case 'Q8_0':
      return encodeQ8(values);
  }
}

/**
 * Q8_0 as ggml's reference quantizer does it: per block, d = max|x| / 127 (stored as f16) and
 * q = round(x / d), rounding half away from zero, with the arithmetic in float32.
 */
function encodeQ8(values: Float32Array): Buffer {
  if (values.length % q8BlockSize !== 0) {
    throw new RangeError(`Q8_0 needs a multiple of ${q8BlockSize} values, got ${values.length}`);
  }
  const blocks = values.length / q8BlockSize;
  const output = Buffer.alloc(blocks * q8BlockBytes);
  const signed = new Int8Array(output.buffer, output.byteOffset, output.length);
  for (let block = 0; block < blocks; block++) {
    const start = block * q8BlockSize;
    let absMax = 0;
    for (let index = start; index < start + q8BlockSize; index++) {
      absMax = Math.max(absMax, Math.abs(values[index] ?? 0));
    }
    const scale = Math.fround(absMax / 127);
    const inverse = scale === 0 ? 0 : Math.fround(1 / scale);
    const at = block * q8BlockBytes;
    output.writeUInt16LE(toHalfBits(scale), at);
    for (let index = 0; index < q8BlockSize; index++) {
      const scaled = Math.fround((values[start + index] ?? 0) * inverse);
      const rounded = Math.sign(scaled) * Math.round(Math.abs(scaled));
      signed[at + 2 + index] = Math.max(-127, Math.min(127, rounded));
    }
  }
  return output;
}

/** The values an encoded tensor stands for (what llama.cpp computes with); for tests and checks. */
export function decodeTensor(bytes: Uint8Array, type: TensorType, count: number): Float32Array {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    switch (type) {
      case 'F32':
        values[index] = view.readFloatLE(index * 4);
        break;
      case 'F16':
        values[index] = fromHalfBits(view.readUInt16LE(index * 2));
        break;
      case 'Q8_0': {
        const at = Math.floor(index / q8BlockSize) * q8BlockBytes;
        const scale = fromHalfBits(view.readUInt16LE(at));
        values[index] = scale * view.readInt8(at + 2 + (index % q8BlockSize));
        break;
      }
    }
  }
  return values;
}
