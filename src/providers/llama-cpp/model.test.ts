import { setMaxListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { partialAnswerOf } from '../partial-answer.js';
import { ModelRegistry } from '../registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { writeTinyModel } from '../tiny-model/tiny-model.js';
import type { ChatMessage, ChatRequest, StreamPart } from '../types.js';
import { LlamaCppModel, type LlamaCppModelOptions } from './model.js';

const script = 'Hello from the tiny model. It answers the same way every time.';
const dir = mkdtempSync(join(tmpdir(), 'assistd-llama-'));
const scriptedPath = join(dir, 'scripted.gguf');
const randomPath = join(dir, 'random.gguf');
const never = new AbortController().signal;
// Shared by up to 21 calls at once here (a request has its own): not the leak Node warns of past 10.
setMaxListeners(32, never);
const models: LlamaCppModel[] = [];

/** A model that starts loading now; `open` also waits until it has loaded. */
function start(path: string, options: Partial<LlamaCppModelOptions> = {}) {
  const model = new LlamaCppModel({
    id: 'tiny',
    path,
    maxBatchSize: 4,
    contextSize: 1024,
    threads: 1,
    gpu: false,
    maxQueue: 8,
    queueTimeoutMs: 10_000,
    affinityTtlMs: 1_800_000,
    defaultMaxTokens: 256,
    defaultTemperature: 0.8,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  models.push(model);
  return model;
}

async function open(path: string, options: Partial<LlamaCppModelOptions> = {}) {
  const model = start(path, options);
  await model.whenLoaded();
  expect(await model.check()).toEqual({ ok: true });
  return model;
}

const user = (content: string): ChatMessage => ({ role: 'user', content });

async function collect(stream: AsyncIterable<StreamPart>) {
  const deltas: string[] = [];
  for await (const part of stream) {
    if (part.type === 'text-delta') deltas.push(part.text);
    else return { deltas, last: part };
  }
  throw new Error('the stream ended without finish or error');
}

beforeAll(async () => {
  await writeTinyModel(scriptedPath, { script });
  await writeTinyModel(randomPath, { mode: 'random', seed: 3 });
});
afterAll(async () => {
  await Promise.all(models.map((model) => model.close()));
});

describe('the llama-cpp provider', () => {
  let scripted: LlamaCppModel;
  beforeAll(async () => {
    scripted = await open(scriptedPath);
  });

  it('answers the scripted text exactly, greedy and sampled, with exact token counts', async () => {
    for (const temperature of [0, 1.5]) {
      const result = await scripted.generate(
        { messages: [{ role: 'system', content: 'Be brief.' }, user('你好')], temperature },
        never,
      );
      expect(result.text).toBe(script);
      expect(result.finishReason).toBe('stop');
      expect(result.usage!.promptTokens).toBeGreaterThan(scripted.countTokens('Be brief.你好'));
      expect(result.usage!.completionTokens).toBeGreaterThan(3);
      expect(result.usage!.totalTokens).toBe(
        result.usage!.promptTokens + result.usage!.completionTokens,
      );
    }
  });

  it('streams the answer token by token', async () => {
    const { deltas, last } = await collect(scripted.stream({ messages: [user('stream')] }, never));
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(script);
    expect(last).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('honours max_tokens (finish "length") and stop sequences', async () => {
    const short = await scripted.generate({ messages: [user('a')], maxTokens: 3 }, never);
    expect(short.finishReason).toBe('length');
    expect(short.usage!.completionTokens).toBe(3);
    expect(script.startsWith(short.text)).toBe(true);

    const stopped = await scripted.generate({ messages: [user('b')], stop: [' answers'] }, never);
    expect(stopped.text).toBe('Hello from the tiny model. It');
    expect(stopped.finishReason).toBe('stop');
  });

  it('evaluates only the new tokens of a follow-up turn on the same sequence', async () => {
    const history: ChatMessage[] = [
      { role: 'system', content: 'You are a patient assistant.' },
      user(
        `Please read this long note. ${'The quick brown fox jumps over the lazy dog. '.repeat(12)}`,
      ),
    ];
    const first = await scripted.generate({ messages: history }, never);
    // Only a common prefix of the chat template can already be in the sequence.
    expect(first.usage!.promptTokens - first.usage!.cachedPromptTokens!).toBeGreaterThan(100);
    const followUp: ChatRequest = {
      messages: [...history, { role: 'assistant', content: first.text }, user('And then?')],
    };
    const before = scripted.stats();
    const second = await scripted.generate(followUp, never);
    const after = scripted.stats();
    const evaluated = after.evaluatedPromptTokens - before.evaluatedPromptTokens;
    // The first turn's prompt is served from the KV cache; what is evaluated is the answer
    // (re-tokenized from its text) and the new user message with its template tokens.
    expect(second.usage!.cachedPromptTokens).toBeGreaterThanOrEqual(first.usage!.promptTokens - 1);
    expect(evaluated).toBeLessThan(second.usage!.promptTokens - first.usage!.promptTokens + 2);
    expect(evaluated).toBeLessThan(second.usage!.promptTokens / 3);
    expect(after.affinityHits).toBe(before.affinityHits + 1);
  });

  it('refuses a prompt longer than the window with 400 context_length_exceeded, and caps the answer to the room left', async () => {
    const small = await open(scriptedPath, { contextSize: 256, maxBatchSize: 1 });
    const error = await small
      .generate({ messages: [user('x'.repeat(400))] }, never)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'context_length_exceeded', status: 400 });
    expect((error as Error).message).toMatch(/The prompt is \d+ tokens, .* 256-token window/);

    const tight = await small.generate({ messages: [user('y'.repeat(226))] }, never);
    expect(tight.finishReason).toBe('length');
    expect(tight.usage!.promptTokens + tight.usage!.completionTokens).toBe(256);
    // The sequence is still usable afterwards.
    expect((await small.generate({ messages: [user('z')] }, never)).text).toBe(script);
  });
});

describe('batching, queueing and aborts', () => {
  let random: LlamaCppModel;
  beforeAll(async () => {
    random = await open(randomPath, { maxBatchSize: 16, maxQueue: 4, contextSize: 512 });
  });

  it('answers 16 concurrent chats plus queued ones, and turns away what is past the queue bound', async () => {
    const requests = Array.from({ length: 21 }, (_, index) =>
      random.generate({ messages: [user(`chat ${index}`)], maxTokens: 8, seed: index }, never).then(
        (result) => ({ ok: true as const, tokens: result.usage!.completionTokens }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    );
    expect(random.stats()).toMatchObject({ busy: 16, queued: 4 });
    const results = await Promise.all(requests);
    const answered = results.filter((result) => result.ok);
    const refused = results.filter((result) => !result.ok);
    expect(answered).toHaveLength(20);
    expect(answered.every((result) => result.tokens === 8)).toBe(true);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.error).toMatchObject({
      code: 'server_busy',
      status: 429,
      headers: { 'retry-after': expect.stringMatching(/^\d+$/) },
    });
    expect(random.stats()).toMatchObject({ busy: 0, queued: 0, rejected: 1 });
  });

  it('keeps the chats of one batch apart: 800 answers, 16 at a time, each exactly the script', async () => {
    // Prompts of different lengths make llama.cpp reorder each decode's outputs; sampling the 16
    // sequences at once during that reorder gave some chats another chat's next token (5 to 63
    // answers of 800 wrong before runtime.ts ordered the samplings).
    const scripted = await open(scriptedPath, { maxBatchSize: 16, affinityTtlMs: 0 });
    const wrong: string[] = [];
    for (let round = 0; round < 50; round++) {
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, index) =>
          scripted.generate(
            { messages: [user(`chat ${round}.${index} ${'+'.repeat(index)}`)] },
            never,
          ),
        ),
      );
      for (const answer of answers) if (answer.text !== script) wrong.push(answer.text);
    }
    expect(wrong).toEqual([]);
  });

  it('lets a new chat join the running batch and finish before a long one', async () => {
    const order: string[] = [];
    const long = random
      .generate({ messages: [user('long')], maxTokens: 200, seed: 1 }, never)
      .then(() => order.push('long'));
    // Wait until the long chat is decoding, then start a short one.
    while (random.stats().generatedTokens === 0 && random.stats().busy === 1) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const short = random
      .generate({ messages: [user('short')], maxTokens: 4, seed: 2 }, never)
      .then(() => order.push('short'));
    await Promise.all([long, short]);
    expect(order).toEqual(['short', 'long']);
  });

  it('is reproducible with a seed', async () => {
    const ask = (seed: number) =>
      random.generate({ messages: [user('same')], maxTokens: 16, temperature: 1, seed }, never);
    const [a, b, c] = [await ask(7), await ask(7), await ask(8)];
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
    // A negative seed is its own (llama.cpp clamped every one to 0).
    expect((await ask(-1)).text).not.toBe((await ask(0)).text);
    // Without a seed, identical requests in the same second differ (llama.cpp used the second).
    const unseeded = await Promise.all(
      [0, 1, 2].map(() =>
        random.generate({ messages: [user('same')], maxTokens: 16, temperature: 1 }, never),
      ),
    );
    expect(new Set(unseeded.map((answer) => answer.text)).size).toBeGreaterThan(1);
  });

  it('gives a non-streamed answer cut short the text it had, with its error', async () => {
    // generate() over a stream that was cut after some text (the client left, the server drains).
    const cut = {
      async *stream(): AsyncGenerator<StreamPart> {
        await Promise.resolve();
        yield { type: 'text-delta', text: 'so ' };
        yield { type: 'text-delta', text: 'far' };
        yield { type: 'error', error: new AppError('client_closed_request') };
      },
    } as unknown as LlamaCppModel;
    const error: unknown = await LlamaCppModel.prototype.generate
      .call(cut, { messages: [user('go on')] }, never)
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toMatchObject({ code: 'client_closed_request' });
    // The turn stores it, marked incomplete (dialog/turn.ts), as it does for a stream.
    expect(partialAnswerOf(error)).toBe('so far');
  });

  it('stops within one decode step of an abort and frees the sequence', async () => {
    const single = await open(randomPath, { maxBatchSize: 1, maxQueue: 0 });
    const controller = new AbortController();
    const generated = () => single.stats().generatedTokens;
    let tokensAtAbort = 0;
    let deltasAfterAbort = 0;
    const stream = single.stream(
      { messages: [user('go on')], maxTokens: 500, seed: 5 },
      controller.signal,
    );
    const outcome = (async () => {
      for await (const part of stream) {
        if (part.type !== 'text-delta') return part;
        if (controller.signal.aborted) {
          deltasAfterAbort++;
        } else {
          tokensAtAbort = generated();
          controller.abort(new AppError('shutting_down'));
        }
      }
      return undefined;
    })();
    const last = await outcome;
    expect(last).toMatchObject({ type: 'error', error: { code: 'shutting_down' } });
    expect(deltasAfterAbort).toBeLessThanOrEqual(1);
    expect(single.stats()).toMatchObject({ busy: 0 });
    // With one sequence and no queue, a new chat only gets in if the sequence was freed.
    const next = await single.generate({ messages: [user('next')], maxTokens: 2 }, never);
    expect(next.usage!.completionTokens).toBe(2);
    expect(single.stats().generatedTokens - tokensAtAbort).toBeLessThan(6);
  });

  it('frees the sequence when the consumer stops reading (client gone)', async () => {
    const single = await open(randomPath, { maxBatchSize: 1, maxQueue: 0 });
    for await (const part of single.stream({ messages: [user('leave')], maxTokens: 500 }, never)) {
      if (part.type === 'text-delta') break;
    }
    expect(single.stats().busy).toBe(0);
    const next = await single.generate({ messages: [user('next')], maxTokens: 2 }, never);
    expect(next.usage!.completionTokens).toBe(2);
  });
});

describe('loading', () => {
  it('answers 503 model_loading with Retry-After until the model is loaded', async () => {
    const model = start(scriptedPath, { maxBatchSize: 1, contextSize: 256, maxQueue: 0 });
    const error = await model.generate({ messages: [user('hi')] }, never).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'model_loading',
      status: 503,
      headers: { 'retry-after': '5' },
    });
    expect(await model.check()).toMatchObject({
      ok: false,
      reason: expect.stringContaining('loading'),
    });
    await model.whenLoaded();
    expect((await model.generate({ messages: [user('hi')] }, never)).text).toBe(script);
  });

  it('reports a model that fails to load as unavailable, with the reason', async () => {
    const broken = join(dir, 'broken.gguf');
    await writeTinyModel(broken, { script });
    const { truncateSync } = await import('node:fs');
    truncateSync(broken, 2000);
    const model = start(broken, { maxBatchSize: 1, contextSize: 256, maxQueue: 0 });
    await model.whenLoaded();
    const health = await model.check();
    expect(health).toMatchObject({ ok: false, reason: expect.stringContaining(broken) });
    // Listed as not available (it was listed as available for good); the reason says why,
    // with llama.cpp's own words beside node-llama-cpp's "Failed to load model".
    expect(new ModelRegistry([model], model.id).list()[0]).toMatchObject({ available: false });
    expect(model.unavailable).toMatch(/Failed to load model \(.+\)/);
    await expect(model.generate({ messages: [user('hi')] }, never)).rejects.toMatchObject({
      code: 'model_unavailable',
    });
  });
});
