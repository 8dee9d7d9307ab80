import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordedToolCalls } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';

// The official `openai` npm client, unchanged, pointed at assistd.
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
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
      max_completion_tokens: 64,
    });
    expect(harness.upstream.chatRequests[0]!.body).not.toHaveProperty('max_tokens');
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
        logit_bias: { '50256': -100 },
      }),
    ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'logit_bias' });
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

  it('calls tools: the calls come back, and their results go to the endpoint in OpenAI’s shape', async () => {
    harness.upstream.enqueue({ kind: 'json', fixture: 'tool-calls.json' });
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris and Beijing?' },
    ];
    const first = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    });
    const answer = first.choices[0]!;
    expect(answer.finish_reason).toBe('tool_calls');
    expect(answer.message.content).toBeNull();
    expect(answer.message.tool_calls).toEqual(recordedToolCalls);
    expect(first.usage).toMatchObject({ prompt_tokens: 82, completion_tokens: 49 });
    expect(harness.upstream.chatRequests[0]!.body).toMatchObject({
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    });

    // The usual loop: the answer goes back as it came, then one result per call.
    messages.push(answer.message);
    for (const call of answer.message.tool_calls!) {
      messages.push({ role: 'tool', tool_call_id: call.id, content: '{"celsius":21}' });
    }
    const second = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      tools: [weatherTool],
    });
    expect(second.choices[0]!.message.content).toBe('你好！有什么可以帮你的吗？');
    expect(harness.upstream.chatRequests[1]!.body).toMatchObject({
      messages: [
        { role: 'user', content: 'Weather in Paris and Beijing?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: answer.message.tool_calls,
        },
        { role: 'tool', tool_call_id: 'call_3bcBW0EcDxiX9lM5c9P0LyNu', content: '{"celsius":21}' },
        { role: 'tool', tool_call_id: 'call_Qb1m3U3vQHkNrd7R1OJdGB8T', content: '{"celsius":21}' },
      ],
    });
  });

  it('streams tool calls piece by piece, which the client’s stream helper puts together', async () => {
    harness.upstream.enqueue({ kind: 'sse', fixture: 'tool-calls.sse' });
    const stream = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris and Beijing?' }],
      tools: [weatherTool],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual(recordedToolCalls);
    expect(final.usage).toMatchObject({ prompt_tokens: 82, completion_tokens: 49 });

    // The helper's own message object (it adds `parsed`) goes back as it is.
    const answer = await stream.finalMessage();
    const next = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'Weather in Paris and Beijing?', name: 'ana' },
        answer,
        ...answer.tool_calls!.map((call) => ({
          role: 'tool' as const,
          tool_call_id: call.id,
          content: '21',
        })),
      ],
      tools: [weatherTool],
    });
    expect(next.choices[0]!.finish_reason).toBe('stop');
    const sent = harness.upstream.chatRequests[1]!.body as { messages: object[] };
    expect(sent.messages[0]).toEqual({
      role: 'user',
      content: 'Weather in Paris and Beijing?',
      name: 'ana',
    });
    expect(sent.messages[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: recordedToolCalls,
    });
  });

  it('takes back what an answer carries: a refusal as its text, annotations, audio and function_call as null', async () => {
    const completion = await harness.json('/v1/chat/completions', {
      body: {
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            content: null,
            refusal: 'I cannot help with that.',
            annotations: [],
            audio: null,
            function_call: null,
            parsed: null,
          },
          { role: 'user', content: 'y' },
        ],
      },
    });
    expect(completion.status).toBe(200);
    expect((harness.upstream.chatRequests[0]!.body as { messages: object[] }).messages[1]).toEqual({
      role: 'assistant',
      content: 'I cannot help with that.',
    });
  });

  it('passes response_format on, and refuses tool use that breaks OpenAI’s rules', async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'JSON please' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
      },
    });
    expect(harness.upstream.chatRequests[0]!.body).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true } },
    });
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'tool', tool_call_id: 'call_1', content: '42' }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].tool_call_id' });
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'tool_choice.function.name' });
    expect(harness.upstream.chatRequests).toHaveLength(1);
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
