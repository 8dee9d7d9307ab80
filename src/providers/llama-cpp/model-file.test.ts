import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel, type TinyModelSummary } from '../tiny-model/tiny-model.js';
import { StartupError } from '../startup-error.js';
import { readGgufHeader } from './gguf-header.js';
import { inspectModelFile, ModelFileError } from './model-file.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-model-file-'));
const good = join(folder, 'good.gguf');
let summary: TinyModelSummary;
let goodBytes: Buffer;

beforeAll(async () => {
  summary = await writeTinyModel(good, { type: 'q8_0' });
  goodBytes = readFileSync(good);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const options = { maxBatchSize: 16, contextSize: 1024 };

/** A copy of the good model with `change` applied to its bytes. */
function corrupted(name: string, change: (bytes: Buffer) => Buffer): string {
  const path = join(folder, name);
  writeFileSync(path, change(Buffer.from(goodBytes)));
  return path;
}

/** Where the tensor info of `name` starts: its u64 name length. */
function tensorInfoAt(bytes: Buffer, name: string): number {
  const at = bytes.indexOf(Buffer.from(name));
  expect(at).toBeGreaterThan(0);
  return at - 8;
}

async function expectProblem(path: string, problem: RegExp): Promise<void> {
  const error: unknown = await inspectModelFile(path, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  expect(error).toBeInstanceOf(StartupError);
  expect((error as Error).message).toContain(path);
  expect((error as Error).message).toMatch(problem);
}

describe('inspectModelFile', () => {
  it('reports what the file holds and estimates weights + KV cache × batch', async () => {
    const report = await inspectModelFile(good, options);
    expect(report).toMatchObject({
      path: good,
      fileBytes: goodBytes.length,
      ggufVersion: 3,
      architecture: 'llama',
      name: 'assistd tiny scripted',
      parameters: summary.parameters,
      contextLength: 4096,
      embeddingLength: 64,
      blockCount: 2,
      vocabularySize: summary.vocabularySize,
      hasChatTemplate: true,
      warnings: [],
    });
    expect(report.tensorTypes.map(({ label, count }) => [label, count])).toEqual([
      ['Q8_0 (INT8)', 1 + 2 * 7 + 1],
      ['F32', 2 * 2 + 1],
    ]);
    // 2 (K and V) × 2 layers × 1 KV head × 64 (head size) × 2 bytes (F16).
    const perToken = 2 * 2 * 1 * 64 * 2;
    const weights = report.tensorTypes.reduce((sum, entry) => sum + entry.bytes, 0);
    expect(report.memory).toEqual({
      weightsBytes: weights,
      contextSize: 1024,
      maxBatchSize: 16,
      kvBytesPerToken: perToken,
      kvBytesPerSequence: perToken * 1024,
      totalBytes: weights + perToken * 1024 * 16,
    });
    expect(weights).toBeLessThan(goodBytes.length);
  });

  it('defaults the context size to the trained length and warns past it', async () => {
    expect((await inspectModelFile(good, { maxBatchSize: 1 })).memory.contextSize).toBe(4096);
    const report = await inspectModelFile(good, { maxBatchSize: 1, contextSize: 8192 });
    expect(report.warnings).toEqual([
      'context size 8192 is larger than the 4096 tokens the model was trained on; 4096 is used',
    ]);
    // The memory is that of the length the server uses (it was estimated for 8192, and a start
    // under a memory limit refused a model that fits).
    expect(report.memory.contextSize).toBe(4096);
    expect(report.memory.kvBytesPerSequence).toBe(report.memory.kvBytesPerToken! * 4096);
  });

  it('reads the header as node-llama-cpp does', async () => {
    const header = await readGgufHeader(good);
    const info = await readGgufFileInfo(good, { logWarnings: false });
    expect(
      header.tensors.map(({ name, dims, typeId, offset }) => [name, dims, typeId, offset]),
    ).toEqual(
      info.tensorInfo?.map((tensor) => [
        tensor.name,
        tensor.dimensions,
        tensor.ggmlType,
        tensor.offset,
      ]),
    );
    expect(header.dataOffset).toBe(info.tensorInfo?.[0]?.fileOffset);
    expect(header.metadata.get('llama.embedding_length')).toBe(64);
    expect(header.metadata.get('tokenizer.ggml.tokens')).toEqual({
      itemType: 8,
      length: summary.vocabularySize,
    });
  });

  it('resolves a folder holding exactly one .gguf file', async () => {
    const one = join(folder, 'one');
    mkdirSync(one);
    copyFileSync(good, join(one, 'model.gguf'));
    writeFileSync(join(one, 'README.md'), 'not a model');
    expect((await inspectModelFile(one, options)).path).toBe(join(one, 'model.gguf'));

    const none = join(folder, 'none');
    mkdirSync(none);
    await expectProblem(none, /holds no \.gguf file/);

    const two = join(folder, 'two');
    mkdirSync(two);
    copyFileSync(good, join(two, 'a.gguf'));
    copyFileSync(good, join(two, 'b.GGUF'));
    await expectProblem(two, /holds 2 \.gguf files \(a\.gguf, b\.GGUF\); name one/);

    const pipe = join(folder, 'pipe');
    mkdirSync(pipe);
    execFileSync('mkfifo', [join(pipe, 'model.gguf')]);
    await expectProblem(pipe, /model\.gguf is not a regular file/);
    await expect(inspectModelFile(good, { maxBatchSize: 0 })).rejects.toThrow(
      'maxBatchSize must be a positive integer, got 0',
    );
  });

  it('names a path that does not exist or is not a file', async () => {
    await expectProblem(join(folder, 'missing.gguf'), /does not exist/);
    const error = await inspectModelFile('/dev/null', options).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('model path /dev/null is not a file or folder');
  });

  it('refuses files that are not GGUF', async () => {
    await expectProblem(
      corrupted('empty.gguf', () => Buffer.alloc(0)),
      /only 0 bytes long/,
    );
    await expectProblem(
      corrupted('magic.gguf', (bytes) => bytes.fill('GGUX', 0, 4)),
      /is not a GGUF file \(it starts with 0x47475558/,
    );
    await expectProblem(
      corrupted('version.gguf', (bytes) => {
        bytes.writeUInt32LE(7, 4);
        return bytes;
      }),
      /GGUF version 7/,
    );
  });

  it('refuses truncated files, in the tensor data or in the header', async () => {
    await expectProblem(
      corrupted('short-data.gguf', (bytes) => bytes.subarray(0, bytes.length - 100)),
      new RegExp(
        `is truncated: its tensor data should end at byte \\d+ but the file has ${goodBytes.length - 100} bytes`,
      ),
    );
    await expectProblem(
      corrupted('short-header.gguf', (bytes) => bytes.subarray(0, 2000)),
      /truncated/,
    );
  });

  it('refuses corrupt counts, offsets and types without hanging or allocating', async () => {
    await expectProblem(
      corrupted('count.gguf', (bytes) => {
        bytes.writeBigUInt64LE(2n ** 40n, 8);
        return bytes;
      }),
      /claims 1099511627776 tensors/,
    );
    await expectProblem(
      corrupted('string.gguf', (bytes) => {
        bytes.writeBigUInt64LE(2n ** 50n, 24); // the first metadata key's length
        return bytes;
      }),
      /string at byte 32 runs past the end/,
    );
    const norm = 'blk.0.attn_norm.weight';
    // name length (8) + name + n_dims (4) + one dimension (8) → type (4) → offset (8).
    const typeAt = (bytes: Buffer) => tensorInfoAt(bytes, norm) + 8 + norm.length + 4 + 8;
    await expectProblem(
      corrupted('type.gguf', (bytes) => {
        bytes.writeUInt32LE(99, typeAt(bytes));
        return bytes;
      }),
      /tensor blk\.0\.attn_norm\.weight of unknown ggml type 99/,
    );
    await expectProblem(
      corrupted('offset.gguf', (bytes) => {
        const at = typeAt(bytes) + 4;
        bytes.writeBigUInt64LE(bytes.readBigUInt64LE(at) + 32n, at);
        return bytes;
      }),
      /tensor blk\.0\.attn_norm\.weight at offset \d+, expected \d+/,
    );
  });

  it('refuses a model without a tensor llama.cpp requires', async () => {
    await expectProblem(
      corrupted('tensor.gguf', (bytes) => {
        const at = bytes.indexOf('blk.1.ffn_down.weight');
        return bytes.fill('X', at + 'blk.1.ffn_dow'.length, at + 'blk.1.ffn_dow'.length + 1);
      }),
      /is missing 1 required tensor: blk\.1\.ffn_down\.weight/,
    );
  });

  it('refuses an architecture node-llama-cpp cannot run', async () => {
    await expectProblem(
      corrupted('architecture.gguf', (bytes) => {
        const key = Buffer.from('general.architecture');
        // key, then u32 type (string) and u64 length 5, then "llama"
        const at = bytes.indexOf(key) + key.length + 4 + 8;
        expect(bytes.toString('latin1', at, at + 5)).toBe('llama');
        return bytes.fill('zzzzz', at, at + 5);
      }),
      /architecture "zzzzz", which node-llama-cpp cannot run/,
    );
  });
});
