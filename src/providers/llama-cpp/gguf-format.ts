/**
 * Constants of the GGUF file format (version 3, little-endian), shared by the reader that checks
 * model files and the writer that makes tiny test models. Source: the GGUF specification in the
 * ggml repository (docs/gguf.md) and ggml's type traits.
 */

/** The first four bytes of every GGUF file: "GGUF". */
export const ggufMagic = Buffer.from('GGUF', 'latin1');

/** The only version this code writes; the reader also accepts version 2 (same layout, u64 counts). */
export const ggufVersion = 3;

/** Tensor data alignment when `general.alignment` is absent. */
export const defaultAlignment = 32;

/** The type code of a metadata value. */
export const ggufValueTypes = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufValueTypeName = keyof typeof ggufValueTypes;

/** Byte size of each fixed-size metadata value type, by type code. */
export const fixedValueSizes: ReadonlyMap<number, number> = new Map([
  [0, 1],
  [1, 1],
  [2, 2],
  [3, 2],
  [4, 4],
  [5, 4],
  [6, 4],
  [7, 1],
  [10, 8],
  [11, 8],
  [12, 8],
]);

/** How ggml stores one tensor element type: `blockSize` elements take `blockBytes` bytes. */
export interface GgmlTypeTraits {
  name: string;
  blockSize: number;
  blockBytes: number;
}

/**
 * The tensor types llama.cpp can load, by ggml type id (the gaps are ids that ggml has retired).
 * The sizes match what node-llama-cpp 3.21.1's native binding reports (checked by a test).
 */
export const ggmlTypes: ReadonlyMap<number, GgmlTypeTraits> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
      [40, 'NVFP4', 64, 36],
      [41, 'Q1_0', 128, 18],
      [42, 'Q2_0', 64, 18],
    ] as const
  ).map(([id, name, blockSize, blockBytes]) => [id, { name, blockSize, blockBytes }]),
);

/** The ids of the types the tiny-model writer produces. */
export const ggmlTypeIds = { F32: 0, F16: 1, Q8_0: 8 } as const;

/**
 * Bytes one tensor's data takes, or a reason it cannot be stored: the row length (first
 * dimension) must be a whole number of blocks.
 */
export function tensorByteSize(
  traits: GgmlTypeTraits,
  dims: readonly number[],
): number | { error: string } {
  const rowLength = dims[0] ?? 1;
  if (rowLength % traits.blockSize !== 0) {
    return {
      error: `its row length ${rowLength} is not a multiple of the ${traits.name} block size ${traits.blockSize}`,
    };
  }
  const rows = dims.slice(1).reduce((product, dim) => product * dim, 1);
  return (rowLength / traits.blockSize) * traits.blockBytes * rows;
}

/** `offset` rounded up to the next multiple of `alignment`. */
export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
