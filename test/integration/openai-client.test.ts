import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

// The official `openai` npm client, unchanged, pointed at assistd.
let harness: Harness;
let client: OpenAI;

beforeAll(async () => {
  harness = await Harness.start();
  client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: harness.adminToken, maxRetries: 0 });
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.upstream.reset();
});

describe('the openai client against assistd', () => {
  it('lists models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['gpt-4o-mini']);
  });

  it('creates a chat completion', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'developer', content: 'Be kind.' },
        { role: 'user', content: '你好' },
      ],
      temperature: 0.7,
      max_completion_tokens: 64,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message).toMatchObject({
      role: 'assistant',
      content: '你好！有什么可以帮你的吗？',
    });
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 10, total_tokens: 19 });
    expect(harness.upstream.chatRequests[0]!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: '你好' },
      ],
      max_tokens: 64,
    });
  });

  it('streams a chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: '你好' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('你好！有什么可以帮你的吗？');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: 10, total_tokens: 19 });
  });

  it('estimates usage when the endpoint does not report it', async () => {
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream-no-usage.sse' });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it('surfaces errors as the client’s typed errors', async () => {
    await expect(
      client.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      }),
    ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools' });
    // The same members sent as null ask for nothing (clients that fill every member do).
    const nulls = await harness.json('/v1/chat/completions', {
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        tools: null,
        tool_choice: null,
        response_format: null,
        logprobs: null,
      },
    });
    expect(nulls.status).toBe(200);
    const bad = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('reports a stream that breaks midway as an error', async () => {
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', cutAfter: 3 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: '你好' }],
      stream: true,
    });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow();
    expect(text).toBe('你好！有什么');
  });
});
