import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getLlama,
  LlamaChatSession,
  LlamaLogLevel,
  readGgufFileInfo,
  type Llama,
  type LlamaModel,
} from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultScript, writeTinyModel, type TinyModelType } from './tiny-model.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-tiny-model-'));
let llama: Llama;

beforeAll(async () => {
  // One thread: on a small shared machine the default thread count makes decoding crawl. Log
  // level error: llama.cpp warns about things tests do on purpose (e.g. tiny contexts).
  llama = await getLlama({
    gpu: false,
    build: 'never',
    maxThreads: 1,
    logLevel: LlamaLogLevel.error,
  });
});
afterAll(async () => {
  await llama.dispose();
  rmSync(folder, { recursive: true, force: true });
});

const prompts = [
  'Hello!',
  '你好，请介绍一下你自己。',
  defaultScript,
  `Repeat after me: ${defaultScript} ${defaultScript}`,
  'This',
  '<|im_end|> <s> </s> <0x41> ▁is',
];

async function answers(model: LlamaModel, temperature: number): Promise<string[]> {
  const context = await model.createContext({ contextSize: 1024 });
  try {
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    const results: string[] = [];
    // One session, so later prompts also run with earlier turns in the KV cache.
    for (const prompt of prompts) {
      let streamed = '';
      const answer = await session.prompt(prompt, {
        temperature,
        onTextChunk: (chunk) => (streamed += chunk),
      });
      expect(streamed).toBe(answer);
      results.push(answer);
    }
    return results;
  } finally {
    await context.dispose();
  }
}

describe('writeTinyModel, scripted', () => {
  for (const type of ['f32', 'f16', 'q8_0'] as TinyModelType[]) {
    it(`answers exactly the script through node-llama-cpp (${type}, greedy and sampled)`, async () => {
      const path = join(folder, `scripted-${type}.gguf`);
      await writeTinyModel(path, { type });
      const model = await llama.loadModel({ modelPath: path });
      try {
        const expected = prompts.map(() => defaultScript);
        expect(await answers(model, 0)).toEqual(expected);
        expect(await answers(model, 1.5)).toEqual(expected);
      } finally {
        await model.dispose();
      }
    });
  }

  it('answers a custom script at temperature 2, and prompts never tokenize to its pieces', async () => {
    const script = 'Bonjour ! 我是一个演示模型。 ok ok ok — done.';
    const path = join(folder, 'custom.gguf');
    const summary = await writeTinyModel(path, { script, seed: 7 });
    const model = await llama.loadModel({ modelPath: path });
    try {
      const firstPiece = summary.vocabularySize - summary.pieces.length;
      for (const text of [script, summary.pieces.join(''), `${script}\n${defaultScript}`]) {
        expect(model.tokenize(text).every((token) => token < firstPiece)).toBe(true);
      }
      const context = await model.createContext({ contextSize: 512 });
      const session = new LlamaChatSession({ contextSequence: context.getSequence() });
      for (const prompt of ['Qui es-tu ?', script]) {
        expect(await session.prompt(prompt, { temperature: 2 })).toBe(script);
      }
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });

  it('is reproducible byte for byte, and the seed changes the random weights', async () => {
    const first = join(folder, 'seed-a.gguf');
    const second = join(folder, 'seed-b.gguf');
    const third = join(folder, 'seed-c.gguf');
    await writeTinyModel(first, { seed: 42 });
    await writeTinyModel(second, { seed: 42 });
    await writeTinyModel(third, { seed: 43 });
    expect(readFileSync(first).equals(readFileSync(second))).toBe(true);
    expect(readFileSync(first).equals(readFileSync(third))).toBe(false);
  });

  it('declares llama metadata, a ChatML template and EOS = <|im_end|>', async () => {
    const path = join(folder, 'metadata.gguf');
    const summary = await writeTinyModel(path, { type: 'f16', contextLength: 2048 });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.metadata.general.architecture).toBe('llama');
    expect(info.architectureMetadata).toMatchObject({
      context_length: 2048,
      embedding_length: 64,
      block_count: 2,
      feed_forward_length: 192,
      attention: { head_count: 1, head_count_kv: 1 },
      rope: { dimension_count: 64 },
    });
    const tokenizer = info.metadata.tokenizer;
    expect(tokenizer.ggml.model).toBe('llama');
    expect(tokenizer.ggml.tokens.length).toBe(summary.vocabularySize);
    expect(tokenizer.ggml.tokens[tokenizer.ggml.eos_token_id ?? -1]).toBe('<|im_end|>');
    expect(tokenizer.ggml.tokens.slice(3, 6)).toEqual(['<0x00>', '<0x01>', '<0x02>']);
    expect(tokenizer.chat_template).toContain('<|im_start|>assistant');
    const types = new Map(info.tensorInfo?.map((tensor) => [tensor.name, tensor.ggmlType]));
    expect(types.get('token_embd.weight')).toBe(1);
    expect(types.get('blk.1.ffn_down.weight')).toBe(1);
    expect(types.get('output_norm.weight')).toBe(0);
    expect(info.tensorInfo).toHaveLength(2 + 2 * 9 + 1);
  });

  it('refuses shapes the script or the type cannot have', async () => {
    const path = join(folder, 'bad.gguf');
    await expect(writeTinyModel(path, { embeddingLength: 8 })).rejects.toThrow(/too small/);
    await expect(writeTinyModel(path, { embeddingLength: 96, headCount: 5 })).rejects.toThrow(
      /heads of an even size/,
    );
    await expect(
      writeTinyModel(path, { mode: 'random', embeddingLength: 48, type: 'q8_0' }),
    ).rejects.toThrow(/multiples of 32/);
    await expect(writeTinyModel(path, { blockCount: 0 })).rejects.toThrow(/blockCount/);
  });
});

describe('writeTinyModel, random', () => {
  it('loads and generates tokens (grouped-query attention, f16)', async () => {
    const path = join(folder, 'random.gguf');
    const summary = await writeTinyModel(path, {
      mode: 'random',
      type: 'f16',
      embeddingLength: 128,
      headCount: 4,
      headCountKv: 2,
      blockCount: 3,
    });
    expect(summary.pieces).toEqual([]);
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256 });
    try {
      const sequence = context.getSequence();
      const generated: number[] = [];
      const input = model.tokenize('Once upon a time');
      for await (const token of sequence.evaluate(input)) {
        generated.push(token);
        if (generated.length >= 16) break;
      }
      expect(generated.length).toBeGreaterThan(0);
      expect(generated.every((token) => token >= 0 && token < summary.vocabularySize)).toBe(true);
    } finally {
      await context.dispose();
      await model.dispose();
    }
  });
});
