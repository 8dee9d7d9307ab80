import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  alignUp,
  defaultAlignment,
  ggmlTypeIds,
  ggmlTypes,
  ggufMagic,
  ggufValueTypes,
  ggufVersion,
  tensorByteSize,
} from '../llama-cpp/gguf-format.js';
import { encodeTensor, type TensorType } from './tensor-encoding.js';

type NumberTypeName = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
type BigIntTypeName = 'u64' | 'i64';

/** One metadata value, tagged with the GGUF type it is stored as. Nested arrays are not supported. */
export type GgufValue =
  | { type: NumberTypeName; value: number }
  | { type: BigIntTypeName; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: NumberTypeName; values: ArrayLike<number> }
  | { type: 'array'; itemType: BigIntTypeName; values: readonly bigint[] }
  | { type: 'array'; itemType: 'bool'; values: readonly boolean[] }
  | { type: 'array'; itemType: 'string'; values: readonly string[] };

/** Shorthands for the metadata values a model file uses most. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (values: readonly string[]): GgufValue => ({
    type: 'array',
    itemType: 'string',
    values,
  }),
};

/** A tensor to write. `values` is called once, when its turn comes, so one tensor is in memory. */
export interface GgufTensor {
  name: string;
  /** Dimensions with the row length first (ggml's `ne`), 1 to 4 of them. */
  dims: readonly number[];
  type: TensorType;
  /** Row-major values, as many as the product of `dims`. */
  values: () => Float32Array;
}

export interface GgufFileContents {
  /** Written in insertion order. `general.alignment` (u32), when present, sets the alignment. */
  metadata: Readonly<Record<string, GgufValue>>;
  tensors: readonly GgufTensor[];
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then each tensor's data at contiguous
 * offsets padded to the alignment. The file appears at `path` only when complete (temp file,
 * fsync, rename, fsync of the folder). Returns the file's size in bytes.
 */
export async function writeGgufFile(path: string, contents: GgufFileContents): Promise<number> {
  const alignment = resolveAlignment(contents.metadata);
  const layout = layoutTensors(contents.tensors, alignment);
  const header = encodeHeader(contents, layout.offsets);
  const dataStart = alignUp(header.length, alignment);

  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const file = await open(temporary, 'wx', 0o644);
  let closed = false;
  try {
    let position = 0;
    const append = async (bytes: Uint8Array) => {
      await file.write(bytes, 0, bytes.length, position);
      position += bytes.length;
    };
    await append(header);
    await append(Buffer.alloc(dataStart - header.length));
    for (const [index, tensor] of contents.tensors.entries()) {
      const values = tensor.values();
      const expected = tensor.dims.reduce((product, dim) => product * dim, 1);
      if (values.length !== expected) {
        throw new RangeError(
          `tensor ${tensor.name} has ${values.length} values; its dimensions need ${expected}`,
        );
      }
      const bytes = encodeTensor(values, tensor.type);
      await append(bytes);
      const size = layout.sizes[index] ?? 0;
      await append(Buffer.alloc(alignUp(size, alignment) - size));
    }
    await file.sync();
    await file.close();
    closed = true;
    await rename(temporary, path);
    await syncFolder(dirname(path));
    return position;
  } catch (error) {
    if (!closed) await file.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

function resolveAlignment(metadata: Readonly<Record<string, GgufValue>>): number {
  const value = metadata['general.alignment'];
  if (value === undefined) return defaultAlignment;
  if (value.type !== 'u32' || value.value <= 0 || value.value % 8 !== 0) {
    throw new RangeError('general.alignment must be a u32 multiple of 8');
  }
  return value.value;
}

function layoutTensors(tensors: readonly GgufTensor[], alignment: number) {
  const names = new Set<string>();
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new RangeError(`tensor ${tensor.name} appears twice`);
    names.add(tensor.name);
    if (
      tensor.dims.length < 1 ||
      tensor.dims.length > 4 ||
      !tensor.dims.every((dim) => Number.isSafeInteger(dim) && dim > 0)
    ) {
      throw new RangeError(`tensor ${tensor.name} needs 1 to 4 positive integer dimensions`);
    }
    const traits = ggmlTypes.get(ggmlTypeIds[tensor.type]);
    const size =
      traits === undefined ? { error: 'unknown type' } : tensorByteSize(traits, tensor.dims);
    if (typeof size !== 'number') {
      throw new RangeError(
        `tensor ${tensor.name} cannot be stored as ${tensor.type}: ${size.error}`,
      );
    }
    offsets.push(offset);
    sizes.push(size);
    offset += alignUp(size, alignment);
  }
  return { offsets, sizes };
}

function encodeHeader(contents: GgufFileContents, offsets: readonly number[]): Buffer {
  const out = new ByteSink();
  out.bytes(ggufMagic);
  out.u32(ggufVersion);
  out.u64(BigInt(contents.tensors.length));
  const entries = Object.entries(contents.metadata);
  out.u64(BigInt(entries.length));
  for (const [key, value] of entries) {
    out.string(key);
    if (value.type === 'array') {
      out.u32(ggufValueTypes.array);
      out.u32(ggufValueTypes[value.itemType]);
      out.u64(BigInt(value.values.length));
      for (let index = 0; index < value.values.length; index++) {
        out.scalar(key, value.itemType, value.values[index]);
      }
    } else {
      out.u32(ggufValueTypes[value.type]);
      out.scalar(key, value.type, value.value);
    }
  }
  for (const [index, tensor] of contents.tensors.entries()) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(BigInt(dim));
    out.u32(ggmlTypeIds[tensor.type]);
    out.u64(BigInt(offsets[index] ?? 0));
  }
  return out.toBuffer();
}

const integerRanges: Partial<Record<NumberTypeName, readonly [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Collects the header in growing chunks; the header holds metadata only, never tensor data. */
class ByteSink {
  private buffer = Buffer.alloc(64 * 1024);
  private length = 0;

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  u32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }

  u64(value: bigint): void {
    this.reserve(8);
    this.length = this.buffer.writeBigUInt64LE(value, this.length);
  }

  string(value: string): void {
    const encoded = Buffer.from(value, 'utf8');
    this.u64(BigInt(encoded.length));
    this.bytes(encoded);
  }

  scalar(key: string, type: Exclude<GgufValue['type'], 'array'>, value: unknown): void {
    const fail = () => new RangeError(`metadata ${key}: ${String(value)} is not a valid ${type}`);
    this.reserve(8);
    if (type === 'string') {
      if (typeof value !== 'string') throw fail();
      this.string(value);
    } else if (type === 'bool') {
      if (typeof value !== 'boolean') throw fail();
      this.length = this.buffer.writeUInt8(value ? 1 : 0, this.length);
    } else if (type === 'u64' || type === 'i64') {
      if (typeof value !== 'bigint') throw fail();
      const inRange =
        type === 'u64' ? BigInt.asUintN(64, value) === value : BigInt.asIntN(64, value) === value;
      if (!inRange) throw fail();
      this.length =
        type === 'u64'
          ? this.buffer.writeBigUInt64LE(value, this.length)
          : this.buffer.writeBigInt64LE(value, this.length);
    } else {
      if (typeof value !== 'number') throw fail();
      const range = integerRanges[type];
      if (
        range !== undefined &&
        !(Number.isInteger(value) && value >= range[0] && value <= range[1])
      ) {
        throw fail();
      }
      this.length = writeNumber(this.buffer, type, value, this.length);
    }
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

function writeNumber(buffer: Buffer, type: NumberTypeName, value: number, at: number): number {
  switch (type) {
    case 'u8':
      return buffer.writeUInt8(value, at);
    case 'i8':
      return buffer.writeInt8(value, at);
    case 'u16':
      return buffer.writeUInt16LE(value, at);
    case 'i16':
      return buffer.writeInt16LE(value, at);
    case 'u32':
      return buffer.writeUInt32LE(value, at);
    case 'i32':
      return buffer.writeInt32LE(value, at);
    case 'f32':
      return buffer.writeFloatLE(value, at);
    case 'f64':
      return buffer.writeDoubleLE(value, at);
  }
}

/** Makes a rename durable: fsync the folder that holds the new name. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
