import { open, type FileHandle } from 'node:fs/promises';
import {
  alignUp,
  defaultAlignment,
  fixedValueSizes,
  ggmlTypes,
  ggufMagic,
  ggufValueTypes,
  tensorByteSize,
} from './gguf-format.js';

/**
 * A metadata value as read: scalars as numbers (u64/i64 as bigint when past 2^53), strings,
 * booleans; arrays by item type and length, with the items of short numeric arrays (per-layer
 * settings) and none of the long ones (a vocabulary's 150,000 scores are not needed here).
 */
export type GgufHeaderValue =
  number | bigint | boolean | string | { itemType: number; length: number; numbers?: number[] };

export interface GgufTensorHeader {
  name: string;
  /** Row length first, as ggml's `ne`. */
  dims: number[];
  typeId: number;
  /** Offset from the start of the data section. */
  offset: number;
  /** Bytes of data, from the type's block size. */
  bytes: number;
}

export interface GgufHeader {
  version: number;
  metadata: ReadonlyMap<string, GgufHeaderValue>;
  tensors: readonly GgufTensorHeader[];
  alignment: number;
  /** Where the data section starts in the file. */
  dataOffset: number;
  /** Where the last tensor's data ends in the file. */
  dataEnd: number;
  fileSize: number;
}

/** The file is not a GGUF file this code can read; the message says what is wrong with it. */
export class GgufFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufFormatError';
  }
}

const shortArrayLimit = 1024;
const chunkSize = 1 << 20;

/**
 * Reads and checks a GGUF file's header the way llama.cpp does before it loads tensors: magic,
 * version, metadata, tensor infos, contiguous aligned offsets, and that the file holds all the
 * tensor data. Every count and length is checked against the bytes left before it is used, so
 * a corrupt file gives a GgufFormatError instead of a huge allocation or an endless loop.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const reader = new BoundedReader(handle, size);
    return await parseHeader(reader, size);
  } finally {
    await handle.close();
  }
}

async function parseHeader(reader: BoundedReader, fileSize: number): Promise<GgufHeader> {
  if (fileSize < 4) throw new GgufFormatError(`is not a GGUF file (only ${fileSize} bytes long)`);
  const magic = await reader.bytes(4);
  if (!magic.equals(ggufMagic)) {
    throw new GgufFormatError(
      `is not a GGUF file (it starts with 0x${magic.toString('hex')}, not "GGUF")`,
    );
  }
  const version = await reader.u32();
  if (version === 0x03000000 || version === 0x02000000) {
    throw new GgufFormatError('is a big-endian GGUF file, which llama.cpp cannot load here');
  }
  if (version !== 2 && version !== 3) {
    throw new GgufFormatError(`has GGUF version ${version}; only versions 2 and 3 are supported`);
  }
  const tensorCount = await reader.count('tensors', 32);
  const metadataCount = await reader.count('metadata entries', 13);

  const metadata = new Map<string, GgufHeaderValue>();
  for (let entry = 0; entry < metadataCount; entry++) {
    const key = await reader.string();
    if (metadata.has(key)) throw new GgufFormatError(`has the metadata key ${key} twice`);
    metadata.set(key, await readValue(reader, key, await reader.u32()));
  }

  const alignmentValue = metadata.get('general.alignment') ?? defaultAlignment;
  if (
    typeof alignmentValue !== 'number' ||
    alignmentValue < 1 ||
    (alignmentValue & (alignmentValue - 1)) !== 0
  ) {
    throw new GgufFormatError('has a general.alignment that is not a power of 2');
  }
  const alignment = alignmentValue;

  const tensors: GgufTensorHeader[] = [];
  const names = new Set<string>();
  let expectedOffset = 0;
  for (let index = 0; index < tensorCount; index++) {
    const tensor = await readTensorInfo(reader);
    if (names.has(tensor.name)) throw new GgufFormatError(`has the tensor ${tensor.name} twice`);
    names.add(tensor.name);
    if (tensor.offset !== expectedOffset) {
      throw new GgufFormatError(
        `has tensor ${tensor.name} at offset ${tensor.offset}, expected ${expectedOffset} (tensor data must be contiguous and aligned)`,
      );
    }
    expectedOffset += alignUp(tensor.bytes, alignment);
    tensors.push(tensor);
  }

  const dataOffset = alignUp(reader.position, alignment);
  const last = tensors.at(-1);
  const dataEnd = last === undefined ? dataOffset : dataOffset + last.offset + last.bytes;
  if (dataEnd > fileSize) {
    throw new GgufFormatError(
      `is truncated: its tensor data should end at byte ${dataEnd} but the file has ${fileSize} bytes`,
    );
  }
  return { version, metadata, tensors, alignment, dataOffset, dataEnd, fileSize };
}

async function readValue(
  reader: BoundedReader,
  key: string,
  type: number,
): Promise<GgufHeaderValue> {
  if (type === ggufValueTypes.array) {
    const itemType = await reader.u32();
    const itemSize = itemType === ggufValueTypes.string ? 8 : fixedValueSizes.get(itemType);
    if (itemSize === undefined) {
      throw new GgufFormatError(`has metadata ${key}: an array of unsupported type ${itemType}`);
    }
    const length = await reader.count(`items in ${key}`, itemSize);
    const keep = length <= shortArrayLimit && itemType !== ggufValueTypes.string;
    const numbers: number[] = [];
    for (let index = 0; index < length; index++) {
      const item = await readScalar(reader, key, itemType);
      if (keep) numbers.push(Number(item));
    }
    return keep ? { itemType, length, numbers } : { itemType, length };
  }
  return readScalar(reader, key, type);
}

async function readScalar(
  reader: BoundedReader,
  key: string,
  type: number,
): Promise<number | bigint | boolean | string> {
  if (type === ggufValueTypes.string) return reader.string();
  const size = fixedValueSizes.get(type);
  if (size === undefined) throw new GgufFormatError(`has metadata ${key} of unknown type ${type}`);
  const bytes = await reader.bytes(size);
  switch (type) {
    case ggufValueTypes.u8:
      return bytes.readUInt8(0);
    case ggufValueTypes.i8:
      return bytes.readInt8(0);
    case ggufValueTypes.u16:
      return bytes.readUInt16LE(0);
    case ggufValueTypes.i16:
      return bytes.readInt16LE(0);
    case ggufValueTypes.u32:
      return bytes.readUInt32LE(0);
    case ggufValueTypes.i32:
      return bytes.readInt32LE(0);
    case ggufValueTypes.f32:
      return bytes.readFloatLE(0);
    case ggufValueTypes.bool:
      return bytes.readUInt8(0) !== 0;
    case ggufValueTypes.u64:
      return narrow(bytes.readBigUInt64LE(0));
    case ggufValueTypes.i64:
      return narrow(bytes.readBigInt64LE(0));
    default:
      return bytes.readDoubleLE(0);
  }
}

function narrow(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : value;
}

async function readTensorInfo(reader: BoundedReader): Promise<GgufTensorHeader> {
  const name = await reader.string();
  const dimCount = await reader.u32();
  if (dimCount < 1 || dimCount > 4) {
    throw new GgufFormatError(`has tensor ${name} with ${dimCount} dimensions (1 to 4 allowed)`);
  }
  const dims: number[] = [];
  for (let index = 0; index < dimCount; index++)
    dims.push(await reader.u64(`a dimension of ${name}`));
  const typeId = await reader.u32();
  const offset = await reader.u64(`the offset of ${name}`);
  const traits = ggmlTypes.get(typeId);
  if (traits === undefined) {
    throw new GgufFormatError(`has tensor ${name} of unknown ggml type ${typeId}`);
  }
  const elements = dims.reduce((product, dim) => product * dim, 1);
  if (!Number.isSafeInteger(elements)) {
    throw new GgufFormatError(`has tensor ${name} with too many elements (${dims.join(' × ')})`);
  }
  const bytes = tensorByteSize(traits, dims);
  if (typeof bytes !== 'number') throw new GgufFormatError(`has tensor ${name}: ${bytes.error}`);
  return { name, dims, typeId, offset, bytes };
}

/** Reads forward through the file in chunks, never past its end and never more than asked. */
class BoundedReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  private at = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
  ) {}

  get position(): number {
    return this.bufferStart + this.at;
  }

  async bytes(length: number): Promise<Buffer> {
    if (this.at + length > this.buffer.length) await this.fill(length);
    const bytes = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return bytes;
  }

  async u32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }

  /** A u64 that must fit in a JavaScript number (sizes, dimensions, offsets). */
  async u64(what: string): Promise<number> {
    const value = (await this.bytes(8)).readBigUInt64LE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufFormatError(`is corrupt: ${what} is ${value}`);
    }
    return Number(value);
  }

  /** A u64 count of things that each take at least `minimumBytes`; it must fit in the file. */
  async count(what: string, minimumBytes: number): Promise<number> {
    const value = await this.u64(`the number of ${what}`);
    const left = this.fileSize - this.position;
    if (value * minimumBytes > left) {
      throw new GgufFormatError(
        `is corrupt or truncated: it claims ${value} ${what} but only ${left} bytes follow`,
      );
    }
    return value;
  }

  async string(): Promise<string> {
    const length = await this.u64('a string length');
    if (length > this.fileSize - this.position) {
      throw new GgufFormatError(
        `is corrupt or truncated: a ${length}-byte string at byte ${this.position} runs past the end`,
      );
    }
    return (await this.bytes(length)).toString('utf8');
  }

  private async fill(length: number): Promise<void> {
    const end = this.position + length;
    if (end > this.fileSize) {
      throw new GgufFormatError(
        `is truncated: the file ends inside its header (byte ${this.fileSize})`,
      );
    }
    const keep = this.buffer.subarray(this.at);
    const available = this.fileSize - this.position - keep.length;
    const readLength = Math.min(Math.max(length - keep.length, chunkSize), available);
    const next = Buffer.alloc(keep.length + readLength);
    keep.copy(next);
    const readFrom = this.position + keep.length;
    let filled = 0;
    while (filled < readLength) {
      const { bytesRead } = await this.handle.read(
        next,
        keep.length + filled,
        readLength - filled,
        readFrom + filled,
      );
      if (bytesRead === 0) throw new GgufFormatError('changed while it was being read');
      filled += bytesRead;
    }
    this.bufferStart = this.position;
    this.buffer = next;
    this.at = 0;
  }
}
