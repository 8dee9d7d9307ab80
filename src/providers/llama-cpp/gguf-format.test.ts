import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { alignUp, ggmlTypes, tensorByteSize } from './gguf-format.js';
import { supportedArchitectures } from './supported-architectures.js';

/** The native binding's type tables; not part of node-llama-cpp's typed API. */
interface NativeTypeTables {
  getTypeSizeForGgmlType(type: number): number | null;
  getBlockSizeForGgmlType(type: number): number | null;
  getIsArchSupported(architecture: string): boolean;
}

describe('GGUF format tables', () => {
  it('match the block sizes and architectures of the llama.cpp that node-llama-cpp bundles', async () => {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    try {
      const native = (llama as unknown as { _bindings: NativeTypeTables })._bindings;
      for (const [id, traits] of ggmlTypes) {
        expect([id, native.getBlockSizeForGgmlType(id), native.getTypeSizeForGgmlType(id)]).toEqual(
          [id, traits.blockSize, traits.blockBytes],
        );
      }
      const architectures = await supportedArchitectures();
      expect(architectures.has('llama')).toBe(true);
      expect(architectures.has('qwen2')).toBe(true);
      for (const architecture of architectures) {
        expect([architecture, native.getIsArchSupported(architecture)]).toEqual([
          architecture,
          true,
        ]);
      }
      expect(architectures.has('zzzzz')).toBe(false);
    } finally {
      await llama.dispose();
    }
  });

  it('sizes tensors by whole blocks', () => {
    const q8 = ggmlTypes.get(8)!;
    expect(tensorByteSize(q8, [64, 3])).toBe(2 * 34 * 3);
    expect(tensorByteSize(q8, [48])).toEqual({
      error: 'its row length 48 is not a multiple of the Q8_0 block size 32',
    });
    expect(tensorByteSize(ggmlTypes.get(0)!, [5, 3, 2])).toBe(120);
    expect(alignUp(33, 32)).toBe(64);
    expect(alignUp(64, 32)).toBe(64);
  });
});
