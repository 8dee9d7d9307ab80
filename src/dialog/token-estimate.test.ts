import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { describe, expect, it } from 'vitest';
import {
  contentTokens,
  estimateTextTokens,
  estimatedUsage,
  promptTokens,
  textCounter,
} from './token-estimate.js';

// Calibration of the estimate against a real BPE tokenizer (OpenAI's cl100k_base): the estimate
// must never be below the real count, and not more than twice it.
const encoder = new Tiktoken(cl100k);

const english =
  'Companies want an internal chat assistant they can run on their own cluster with the controls a ' +
  'security team signs off on. Today they glue together a model server, a gateway, a chat UI, ' +
  "scripts for keys and backups, and a monitoring stack. It's 2026; the service listens on port 18789.\n";
const code = `export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        if (buffer.length > 0x10000) throw new Error(\`too long: \${buffer.length}\`);
    }
}
`;
const samples: Record<string, string> = {
  english: english.repeat(20),
  code: code.repeat(20),
  chinese:
    '你好，世界。今天天气很好，我们去公园散步吧。人工智能助手可以帮助企业员工快速找到内部文档，并回答常见问题。'.repeat(
      30,
    ),
  japanese: 'こんにちは世界。今日はいい天気ですね。カタカナのテキストも含めます。'.repeat(30),
  russian: 'Привет, мир! Это тестовый текст на русском языке для оценки количества токенов.'.repeat(
    30,
  ),
  emoji: '👍🎉🚀 ok 😀 '.repeat(100),
  json: JSON.stringify(
    Array.from({ length: 60 }, (_, index) => ({
      id: `conv_${index}`,
      title: `Chat ${index}`,
      updated_at: 1764169200 + index,
    })),
  ),
  numbers: Array.from({ length: 500 }, (_, index) => String(index * 7919)).join(' '),
  whitespace: 'a    b        c\n\n\n   d\t\te\n'.repeat(100),
  mixed:
    'Deploy 模型 on Kubernetes with 3 zones: kubectl apply -f deploy/ && curl -I http://host:18789/health # 健康检查\n'.repeat(
      40,
    ),
  greeting: '你好',
  word: 'hello',
};

describe('token estimate', () => {
  it.each(Object.entries(samples))('stays between 1x and 2x the real count: %s', (_name, text) => {
    const real = encoder.encode(text).length;
    const estimate = estimateTextTokens(text);
    expect(estimate).toBeGreaterThanOrEqual(real);
    expect(estimate).toBeLessThanOrEqual(Math.max(2 * real, real + 2));
  });

  it('prices images at a fixed amount and adds text parts', () => {
    const tokens = contentTokens(
      [
        { type: 'text', text: 'hello' },
        { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
        { type: 'image_url', image_url: { url: 'https://example.com/b.png' } },
      ],
      estimateTextTokens,
    );
    expect(tokens).toBe(1 + 85 + 765);
  });

  it("uses a model's own tokenizer, called on the model", () => {
    const model = {
      perChar: 2,
      countTokens(text: string) {
        return text.length * this.perChar;
      },
    };
    const count = textCounter(model);
    expect(count('abc')).toBe(6);
    expect(textCounter({})).toBe(estimateTextTokens);
    const prompt = promptTokens([{ role: 'user', content: 'abc' }], count);
    expect(prompt).toBe(3 + 4 + 6);
    expect(estimatedUsage(prompt, 'ab', count)).toEqual({
      promptTokens: 13,
      completionTokens: 4,
      totalTokens: 17,
    });
  });

  it('counts nothing for empty text', () => {
    expect(estimateTextTokens('')).toBe(0);
  });
});
