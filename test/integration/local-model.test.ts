import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { Harness, readEvents } from '../support/harness.js';

// The whole path of a chat turn through the real llama.cpp engine, with a generated model that
// answers a fixed script: the text is canned, the tokenizer, decoding, batching, KV cache and
// streaming are real.
const script = 'I am a tiny local model. Every answer of mine is this sentence.';
const modelDir = join(mkdtempSync(join(tmpdir(), 'assistd-local-')), 'tiny-chat');

interface TurnBody {
  conversation_id: string;
  model: string;
  message: { content: string };
  finish_reason: string;
  usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
}

let harness: Harness;
beforeAll(async () => {
  mkdirSync(modelDir);
  await writeTinyModel(join(modelDir, 'model-q8_0.gguf'), { script });
  harness = await Harness.start({
    noEndpoint: true,
    config: {
      model_path: modelDir,
      local_model: { max_batch_size: 16, queue_max: 4, context_size: 1024, threads: 1 },
    },
  });
  await harness.waitForReady();
});
afterAll(async () => {
  await harness.close();
});

describe('a local GGUF model over HTTP', () => {
  it('answers /v1/chat exactly, and a follow-up reuses the sequence (cached tokens)', async () => {
    const first = await harness.json<TurnBody>('/v1/chat', {
      body: {
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: `你好. ${'Here is some context to remember. '.repeat(10)}` },
        ],
        temperature: 0.7,
      },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      model: 'tiny-chat',
      message: { content: script },
      finish_reason: 'stop',
    });
    expect(first.body.usage.prompt_tokens_details!.cached_tokens).toBe(0);
    const second = await harness.json<TurnBody>('/v1/chat', {
      body: {
        conversation_id: first.body.conversation_id,
        messages: [{ role: 'user', content: 'And?' }],
      },
    });
    expect(second.status).toBe(200);
    expect(second.body.message.content).toBe(script);
    // The first turn's prompt is in the sequence already; only the answer and the new message
    // are evaluated.
    expect(second.body.usage.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(
      first.body.usage.prompt_tokens - 1,
    );
  });

  it('streams /v1/chat token by token', async () => {
    const response = await harness.request('/v1/chat', {
      body: { messages: [{ role: 'user', content: 'stream please' }], stream: true },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(response);
    const deltas = events.filter((event) => event.event === 'delta');
    expect(deltas.length).toBeGreaterThan(5);
    expect(
      deltas.map((event) => (JSON.parse(event.data) as { content: string }).content).join(''),
    ).toBe(script);
    expect(events.at(-1)!.event).toBe('done');
  });

  it('serves the official openai client, streaming included', async () => {
    const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: harness.adminToken });
    const completion = await client.chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'hi' }],
      seed: 3,
    });
    expect(completion.choices[0]!.message.content).toBe(script);
    const stream = await client.chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'hi again' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      chunks++;
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text).toBe(script);
    expect(chunks).toBeGreaterThan(5);
    expect(completionTokens).toBeGreaterThan(5);
  });

  it('answers in JSON that matches the schema when asked (a grammar holds every sampled token to it)', async () => {
    const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: harness.adminToken });
    const models = await harness.json<{ data: Array<{ capabilities: object }> }>('/v1/models');
    expect(models.body.data[0]!.capabilities).toEqual({
      images: false,
      tools: true,
      json_output: true,
    });
    // The model's weights only know the script; what comes out is JSON anyway.
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.create({
        model: 'tiny-chat',
        messages: [{ role: 'user', content: 'How are you?' }],
        seed,
        max_tokens: 200,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'status',
            strict: true,
            schema: {
              type: 'object',
              title: 'status',
              properties: {
                ok: { type: 'boolean' },
                mood: { anyOf: [{ enum: ['calm', 'busy'] }, { type: 'null' }] },
              },
              required: ['ok', 'mood'],
              additionalProperties: false,
            },
          },
        },
      });
      const answer = completion.choices[0]!;
      expect(answer.finish_reason).toBe('stop');
      const value = JSON.parse(answer.message.content!) as Record<string, unknown>;
      expect(Object.keys(value).sort()).toEqual(['mood', 'ok']);
      expect(typeof value.ok).toBe('boolean');
      expect([null, 'calm', 'busy']).toContain(value.mood);
    }
    const object = await client.chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'JSON please' }],
      seed: 1,
      max_tokens: 200,
      response_format: { type: 'json_object' },
    });
    expect(object.choices[0]!.message.content!.trimStart()).toMatch(/^\{/);
    if (object.choices[0]!.finish_reason === 'stop') {
      expect(JSON.parse(object.choices[0]!.message.content!)).toBeTypeOf('object');
    }
  });

  it('refuses a schema keyword the grammar cannot enforce, naming it', async () => {
    const send = (body: object) =>
      harness.json<{ error: { code: string; param: string; message: string } }>(
        '/v1/chat/completions',
        { body: { model: 'tiny-chat', messages: [{ role: 'user', content: 'x' }], ...body } },
      );
    const pattern = await send({
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'n',
          schema: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]+$' } } },
        },
      },
    });
    expect(pattern.status).toBe(400);
    expect(pattern.body.error).toMatchObject({
      code: 'unsupported_parameter',
      param: 'response_format.json_schema.schema.properties.code.pattern',
    });
    expect(pattern.body.error.message).toContain('cannot enforce "pattern"');
    // A definition that is only itself: no grammar can hold it (llama.cpp fails to build one).
    const cycle = await send({
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'n',
          schema: { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } },
        },
      },
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error).toMatchObject({
      code: 'unsupported_parameter',
      param: 'response_format.json_schema.schema.$defs.a',
    });
    expect(cycle.body.error.message).toContain('left recursion');
  });

  it('answers 16 concurrent chats and queued ones; past the queue bound, 429 server_busy with Retry-After', async () => {
    const ask = (index: number) =>
      harness.request('/v1/chat/completions', {
        body: {
          model: 'tiny-chat',
          messages: [{ role: 'user', content: `request ${index}` }],
          max_tokens: 1000,
        },
      });
    const responses = await Promise.all(Array.from({ length: 28 }, (_, index) => ask(index)));
    const statuses = responses.map((response) => response.status);
    const ok = responses.filter((response) => response.status === 200);
    const busy = responses.filter((response) => response.status === 429);
    expect(ok.length + busy.length).toBe(28);
    // 16 sequences and 4 queue places: at least 20 are answered; the rest arrive while
    // everything is taken (how many depends on how fast the first ones finish).
    expect(ok.length, String(statuses)).toBeGreaterThanOrEqual(20);
    for (const response of ok) {
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]!.message.content).toBe(script);
    }
    for (const response of busy) {
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({
        error: { code: 'server_busy', type: 'rate_limit_error' },
      });
    }
  });

  it('keeps a growing conversation going past the window by leaving its oldest turns out', async () => {
    // The template costs more than OpenAI's 4 tokens a message; fitted with that estimate, the
    // history overfilled the context and every turn from the ninth on was refused with 400.
    let conversation: string | undefined;
    let omitted = 0;
    // Short messages, where the template's cost is most of each turn.
    for (let turn = 0; turn < 60; turn++) {
      const response = await harness.json<TurnBody & { omitted_messages: number }>('/v1/chat', {
        body: {
          ...(conversation ? { conversation_id: conversation } : {}),
          messages: [{ role: 'user', content: 'a' }],
          max_tokens: 1,
        },
      });
      expect(response.status, `turn ${turn}`).toBe(200);
      conversation = response.body.conversation_id;
      omitted = response.body.omitted_messages;
    }
    expect(omitted).toBeGreaterThan(0);
  });

  it('refuses a prompt that cannot fit with 400 context_length_exceeded', async () => {
    const response = await harness.json<{ error: { code: string; param: string } }>(
      '/v1/chat/completions',
      {
        body: {
          model: 'tiny-chat',
          messages: [{ role: 'user', content: 'z'.repeat(5000) }],
        },
      },
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'context_length_exceeded',
      param: 'messages',
    });
  });
});
