import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGgufFile, type GgufTensor, type GgufValue } from './gguf-writer.js';
import { decodeTensor, encodedByteLength } from './tensor-encoding.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-gguf-writer-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const ramp = (count: number, scale: number) =>
  Float32Array.from({ length: count }, (_, index) => ((index % 97) - 48) * scale);

const metadata: Record<string, GgufValue> = {
  'general.architecture': { type: 'string', value: 'llama' },
  'test.u8': { type: 'u8', value: 255 },
  'test.i8': { type: 'i8', value: -128 },
  'test.u16': { type: 'u16', value: 65535 },
  'test.i16': { type: 'i16', value: -32768 },
  'test.u32': { type: 'u32', value: 4294967295 },
  'test.i32': { type: 'i32', value: -2147483648 },
  'test.u64': { type: 'u64', value: 2n ** 64n - 1n },
  'test.i64': { type: 'i64', value: -(2n ** 63n) },
  'test.f32': { type: 'f32', value: 0.5 },
  'test.f64': { type: 'f64', value: Math.PI },
  'test.bool': { type: 'bool', value: true },
  'test.string': { type: 'string', value: 'héllo, 世界' },
  'test.strings': { type: 'array', itemType: 'string', values: ['a', '', '<0x0A>'] },
  'test.i32s': { type: 'array', itemType: 'i32', values: [1, -2, 3] },
  'test.f32s': { type: 'array', itemType: 'f32', values: new Float32Array([0.25, -1]) },
  'test.bools': { type: 'array', itemType: 'bool', values: [true, false] },
  'test.empty': { type: 'array', itemType: 'u8', values: [] },
};

const tensors: GgufTensor[] = [
  { name: 'a.f32', dims: [5, 3], type: 'F32', values: () => ramp(15, 0.1) },
  { name: 'b.f16', dims: [7], type: 'F16', values: () => ramp(7, 0.3) },
  { name: 'c.q8', dims: [64, 3], type: 'Q8_0', values: () => ramp(192, 0.01) },
  { name: 'd.f32', dims: [2, 2, 2], type: 'F32', values: () => ramp(8, 1) },
];

describe('writeGgufFile', () => {
  it('writes metadata and tensor infos that node-llama-cpp reads back', async () => {
    const path = join(folder, 'all-types.gguf');
    const bytes = await writeGgufFile(path, { metadata, tensors });
    expect(readFileSync(path).length).toBe(bytes);

    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.version).toBe(3);
    expect(info.tensorCount).toBe(4);
    const test = info.metadata as unknown as { test: Record<string, unknown> };
    expect(test.test).toEqual({
      u8: 255,
      i8: -128,
      u16: 65535,
      i16: -32768,
      u32: 4294967295,
      i32: -2147483648,
      u64: 2n ** 64n - 1n,
      i64: -(2n ** 63n),
      f32: 0.5,
      f64: Math.PI,
      bool: true,
      string: 'héllo, 世界',
      strings: ['a', '', '<0x0A>'],
      i32s: [1, -2, 3],
      f32s: [0.25, -1],
      bools: [true, false],
      empty: [],
    });

    const infos = info.tensorInfo ?? [];
    expect(infos.map((tensor) => [tensor.name, tensor.dimensions, tensor.ggmlType])).toEqual([
      ['a.f32', [5, 3], 0],
      ['b.f16', [7], 1],
      ['c.q8', [64, 3], 8],
      ['d.f32', [2, 2, 2], 0],
    ]);
    // Contiguous offsets, each tensor padded to 32 bytes.
    expect(infos.map((tensor) => Number(tensor.offset))).toEqual([0, 64, 96, 320]);
    const dataStart = Number(infos[0]!.fileOffset);
    expect(dataStart % 32).toBe(0);
    expect(bytes).toBe(dataStart + 320 + 32);

    const file = readFileSync(path);
    for (const [index, tensor] of tensors.entries()) {
      const count = tensor.dims.reduce((product, dim) => product * dim, 1);
      const start = Number(infos[index]!.fileOffset);
      const stored = file.subarray(start, start + encodedByteLength(tensor.type, count));
      const decoded = decodeTensor(stored, tensor.type, count);
      const expected = tensor.values();
      for (let element = 0; element < count; element++) {
        const value = expected[element] ?? 0;
        const tolerance = {
          F32: 0,
          F16: Math.abs(value) * 2 ** -11,
          Q8_0: (0.48 / 127) * 0.57, // half a step of the block scale, plus the f16 scale's error
        }[tensor.type];
        expect(Math.abs((decoded[element] ?? 0) - value)).toBeLessThanOrEqual(tolerance);
      }
    }
  });

  it('honours general.alignment', async () => {
    const path = join(folder, 'aligned.gguf');
    await writeGgufFile(path, {
      metadata: { 'general.alignment': { type: 'u32', value: 64 } },
      tensors: tensors.slice(0, 2),
    });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.tensorInfo?.map((tensor) => Number(tensor.offset))).toEqual([0, 64]);
    expect(Number(info.tensorInfo?.[0]?.fileOffset) % 64).toBe(0);
  });

  it('refuses bad input and leaves neither the file nor a temp file behind', async () => {
    const path = join(folder, 'bad.gguf');
    const attempts: [Parameters<typeof writeGgufFile>[1], RegExp][] = [
      [{ metadata: { x: { type: 'u8', value: 256 } }, tensors: [] }, /x: 256 is not a valid u8/],
      [{ metadata: { x: { type: 'u32', value: 1.5 } }, tensors: [] }, /not a valid u32/],
      [{ metadata: { x: { type: 'u64', value: -1n } }, tensors: [] }, /not a valid u64/],
      [
        { metadata: {}, tensors: [tensors[0]!, { ...tensors[0]!, values: () => ramp(15, 1) }] },
        /appears twice/,
      ],
      [
        {
          metadata: {},
          tensors: [{ name: 'q', dims: [48], type: 'Q8_0', values: () => ramp(48, 1) }],
        },
        /row length 48 is not a multiple of the Q8_0 block size 32/,
      ],
      [
        {
          metadata: {},
          tensors: [{ name: 'short', dims: [4], type: 'F32', values: () => ramp(3, 1) }],
        },
        /short has 3 values; its dimensions need 4/,
      ],
      [{ metadata: {}, tensors: [{ ...tensors[0]!, dims: [] }] }, /1 to 4 positive integer/],
    ];
    for (const [contents, message] of attempts) {
      await expect(writeGgufFile(path, contents)).rejects.toThrow(message);
    }
    expect(readdirSync(folder).filter((name) => name.includes('bad'))).toEqual([]);
  });
});
