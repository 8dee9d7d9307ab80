import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, fixture, sseEvents } from '../../../test/support/fake-upstream.js';
import { Harness, readEvents } from '../../../test/support/harness.js';

let harness: Harness;
const hello = { messages: [{ role: 'user', content: '你好' }], temperature: 0.7 };

beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.upstream.reset();
});

type ChatBody = {
  id: string;
  conversation_id: string;
  model: string;
  message: { role: string; content: string };
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  omitted_messages: number;
};

describe('POST /v1/chat', () => {
  it('answers the curl example, sent as curl sends it (form content type)', async () => {
    const response = await harness.request('/v1/chat', {
      body: JSON.stringify(hello),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'curl-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('curl-1');
    const body = (await response.json()) as ChatBody;
    expect(body).toMatchObject({
      model: 'gpt-4o-mini',
      message: { role: 'assistant', content: '你好！有什么可以帮你的吗？' },
      finish_reason: 'stop',
      usage: { prompt_tokens: 9, completion_tokens: 10, total_tokens: 19 },
      omitted_messages: 0,
    });
    expect(body.id).toMatch(/^chat_/);
    expect(body.conversation_id).toMatch(/^conv_/);
    expect(harness.upstream.chatRequests[0]!.body).toMatchObject({
      messages: hello.messages,
      temperature: 0.7,
    });
  });

  it('continues a conversation with its stored history and system prompt', async () => {
    const first = await harness.json<ChatBody>('/v1/chat', {
      body: {
        messages: [
          { role: 'system', content: 'Answer in Chinese.' },
          { role: 'user', content: '你好' },
        ],
      },
    });
    const second = await harness.json<ChatBody>('/v1/chat', {
      body: {
        conversation_id: first.body.conversation_id,
        messages: [{ role: 'user', content: 'And again?' }],
        max_tokens: 50,
      },
    });
    expect(second.status).toBe(200);
    expect(second.body.conversation_id).toBe(first.body.conversation_id);
    expect(harness.upstream.chatRequests[1]!.body).toMatchObject({
      max_tokens: 50,
      messages: [
        { role: 'system', content: 'Answer in Chinese.' },
        { role: 'user', content: '你好' },
        { role: 'assistant', content: '你好！有什么可以帮你的吗？' },
        { role: 'user', content: 'And again?' },
      ],
    });
    const stored = await harness.json<{ message_count: number; system_prompt: string }>(
      `/v1/conversations/${first.body.conversation_id}`,
    );
    expect(stored.body).toMatchObject({ message_count: 4, system_prompt: 'Answer in Chinese.' });
  });

  it("hides another principal's conversation", async () => {
    const mine = await harness.json<ChatBody>('/v1/chat', { body: hello, principal: 'alice' });
    const theirs = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: { ...hello, conversation_id: mine.body.conversation_id },
      principal: 'mallory',
    });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('conversation_not_found');
    expect(harness.upstream.chatRequests).toHaveLength(1);
  });

  it('refuses images for a model that does not take them, and a new message too large for the window', async () => {
    const image = await harness.json<{ error: { code: string; param: string } }>('/v1/chat', {
      body: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      },
    });
    expect(image.status).toBe(400);
    expect(image.body.error).toMatchObject({
      code: 'unsupported_content',
      param: 'messages[0].content',
    });
    const huge = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: { messages: [{ role: 'user', content: 'word '.repeat(9000) }] },
    });
    expect(huge.status).toBe(400);
    expect(huge.body.error.code).toBe('context_length_exceeded');
    expect(harness.upstream.chatRequests).toHaveLength(0);
  });

  it('names the image field by its index in the request, system messages included', async () => {
    const response = await harness.json<{ error: { code: string; param: string } }>('/v1/chat', {
      body: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }],
          },
        ],
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'unsupported_content',
      param: 'messages[1].content',
    });
  });

  it('names unknown models and refuses a turn that does not end with a user message', async () => {
    const unknown = await harness.json<{ error: { code: string; param: string } }>('/v1/chat', {
      body: { ...hello, model: 'gpt-9' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const assistantLast = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
        ],
      },
    });
    expect(assistantLast.status).toBe(400);
  });

  it('passes an upstream rate limit through with Retry-After, storing nothing', async () => {
    harness.upstream.enqueue({
      kind: 'json',
      status: 429,
      fixture: 'error-429.json',
      headers: { 'retry-after': '120' },
    });
    const response = await harness.json<{ error: { code: string }; conversation_id?: string }>(
      '/v1/chat',
      { body: hello, principal: 'ratelimited' },
    );
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('120');
    expect(response.body.error.code).toBe('upstream_rate_limited');
    const list = await harness.json<{ data: unknown[] }>('/v1/conversations', {
      principal: 'ratelimited',
    });
    expect(list.body.data).toEqual([]);
  });
});

describe('POST /v1/chat with stream: true', () => {
  it('streams start, deltas and a final event with usage, then stores the answer', async () => {
    const response = await harness.request('/v1/chat', { body: { ...hello, stream: true } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(response);
    expect(events.map((event) => event.event)).toEqual([
      'start',
      'delta',
      'delta',
      'delta',
      'done',
    ]);
    const start = JSON.parse(events[0]!.data) as { conversation_id: string };
    expect(
      events
        .slice(1, 4)
        .map((event) => (JSON.parse(event.data) as { content: string }).content)
        .join(''),
    ).toBe('你好！有什么可以帮你的吗？');
    expect(JSON.parse(events[4]!.data)).toMatchObject({
      conversation_id: start.conversation_id,
      finish_reason: 'stop',
      usage: { prompt_tokens: 9, completion_tokens: 10, total_tokens: 19 },
      omitted_messages: 0,
    });
    const stored = await harness.json<{
      messages: Array<{ content: string; incomplete: boolean }>;
    }>(`/v1/conversations/${start.conversation_id}`);
    expect(stored.body.messages.map((message) => [message.content, message.incomplete])).toEqual([
      ['你好', false],
      ['你好！有什么可以帮你的吗？', false],
    ]);
  });

  it('ends with an error event and stores the partial answer as incomplete when the upstream breaks midway', async () => {
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', cutAfter: 3 });
    const response = await harness.request('/v1/chat', { body: { ...hello, stream: true } });
    const events = await readEvents(response);
    expect(events.map((event) => event.event)).toEqual(['start', 'delta', 'delta', 'error']);
    expect(JSON.parse(events[3]!.data)).toMatchObject({
      error: { code: 'upstream_error', type: 'server_error' },
    });
    const { conversation_id } = JSON.parse(events[0]!.data) as { conversation_id: string };
    const stored = await harness.json<{
      messages: Array<{ content: string; incomplete: boolean }>;
    }>(`/v1/conversations/${conversation_id}`);
    expect(stored.body.messages.at(-1)).toMatchObject({
      content: '你好！有什么',
      incomplete: true,
    });
  });

  it('stores no answer when the endpoint calls a tool it was never offered (502), whole or streamed', async () => {
    harness.upstream.enqueue({ kind: 'json', fixture: 'tool-calls.json' });
    const whole = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: hello,
      principal: 'caller',
    });
    expect(whole.status).toBe(502);
    expect(whole.body.error.code).toBe('upstream_bad_response');
    harness.upstream.enqueue({ kind: 'sse', fixture: 'tool-calls.sse' });
    const streamed = await harness.request('/v1/chat', {
      body: { ...hello, stream: true },
      principal: 'caller',
    });
    expect(streamed.status).toBe(502);
    // Text, then a call: the text is kept as incomplete, the stream ends with the error.
    harness.upstream.enqueue({
      kind: 'sse',
      events: [
        ...sseEvents(fixture('stream.sse')).slice(0, 2),
        ...sseEvents(fixture('tool-calls.sse')),
      ],
    });
    const mixed = await harness.request('/v1/chat', {
      body: { ...hello, stream: true },
      principal: 'caller',
    });
    const events = await readEvents(mixed);
    expect(events.map((event) => event.event)).toEqual(['start', 'delta', 'error']);
    const { conversation_id } = JSON.parse(events[0]!.data) as { conversation_id: string };
    const stored = await harness.json<{
      messages: Array<{ role: string; content: string; incomplete: boolean }>;
    }>(`/v1/conversations/${conversation_id}`, { principal: 'caller' });
    expect(stored.body.messages.at(-1)).toMatchObject({
      role: 'assistant',
      content: '你好',
      incomplete: true,
    });
    // A finish that says "tool_calls" with no call is no answer either.
    harness.upstream.enqueue({
      kind: 'sse',
      events: [
        `data: ${JSON.stringify({ choices: [{ delta: { tool_calls: [] }, finish_reason: 'tool_calls' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const said = await harness.request('/v1/chat', {
      body: { ...hello, stream: true },
      principal: 'caller',
    });
    expect(said.status).toBe(502);
    const list = await harness.json<{ data: unknown[] }>('/v1/conversations', {
      principal: 'caller',
    });
    expect(list.body.data).toHaveLength(1);
  });

  it('answers an HTTP error, not a stream, when the upstream fails before the first token', async () => {
    harness.upstream.enqueue({ kind: 'json', status: 401, fixture: 'error-401.json' });
    const response = await harness.request('/v1/chat', { body: { ...hello, stream: true } });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_auth_failed');
    expect(JSON.stringify(body)).not.toContain('SECRETKEY');
  });

  it('aborts the upstream call when the client disconnects, storing what was said', async () => {
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs: 400 });
    const response = await harness.request('/v1/chat', {
      body: { ...hello, stream: true },
      principal: 'leaver',
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('event: delta'))
      text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await eventually(() => harness.upstream.chatRequests[0]?.clientClosed === true);
    const conversationId = /"conversation_id":"([^"]+)"/.exec(text)![1]!;
    let messages: Array<{ content: string; incomplete: boolean }> = [];
    await eventually(async () => {
      const result = await harness.json<{ messages?: typeof messages }>(
        `/v1/conversations/${conversationId}`,
        {
          principal: 'leaver',
        },
      );
      messages = result.body.messages ?? [];
      return messages.length === 2;
    });
    expect(messages[1]).toMatchObject({ content: '你好', incomplete: true });
  });

  it('refuses a second turn on a conversation while one is running', async () => {
    const first = await harness.json<ChatBody>('/v1/chat', { body: hello });
    harness.upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs: 200 });
    const running = await harness.request('/v1/chat', {
      body: { ...hello, conversation_id: first.body.conversation_id, stream: true },
    });
    const busy = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: { ...hello, conversation_id: first.body.conversation_id },
    });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('conversation_busy');
    // Another principal naming it hears what it would of any id it does not own: 404, not
    // "busy" (which would say the conversation exists).
    const stranger = await harness.json<{ error: { code: string } }>('/v1/chat', {
      body: { ...hello, conversation_id: first.body.conversation_id },
      principal: 'stranger',
    });
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('conversation_not_found');
    await running.text();
    const after = await harness.json<ChatBody>('/v1/chat', {
      body: { ...hello, conversation_id: first.body.conversation_id },
    });
    expect(after.status).toBe(200);
  });
});

describe('context window', () => {
  let small: Harness;
  beforeAll(async () => {
    small = await Harness.start({
      upstream: harness.upstream,
      config: { upstream: { context_window: 400 }, dialog: { default_max_tokens: 100 } },
    });
  });
  afterAll(async () => {
    await small.close();
  });

  it('keeps the system prompt, drops the oldest turns first and says how many', async () => {
    const long = (label: string) => `${label} ${'lorem ipsum dolor sit amet '.repeat(12)}`;
    const first = await small.json<ChatBody>('/v1/chat', {
      body: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: long('q1') },
        ],
      },
    });
    let last = first;
    for (const label of ['q2', 'q3', 'q4']) {
      last = await small.json<ChatBody>('/v1/chat', {
        body: {
          conversation_id: first.body.conversation_id,
          messages: [{ role: 'user', content: long(label) }],
        },
      });
      expect(last.status).toBe(200);
    }
    expect(last.body.omitted_messages).toBeGreaterThan(0);
    const sent = harness.upstream.chatRequests.at(-1)!.body as {
      messages: Array<{ role: string; content: string }>;
    };
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(sent.messages.at(-1)!.content).toContain('q4');
    expect(sent.messages.some((message) => message.content.startsWith('q1'))).toBe(false);
    // Everything is still stored: 4 turns, 8 messages.
    const stored = await small.json<{ message_count: number }>(
      `/v1/conversations/${first.body.conversation_id}`,
    );
    expect(stored.body.message_count).toBe(8);
    // The 6 messages stored before this turn were either sent (between system and new) or omitted.
    expect(last.body.omitted_messages + (sent.messages.length - 2)).toBe(6);
  });
});

describe('models that take images, and the context cache', () => {
  let vision: Harness;
  beforeAll(async () => {
    vision = await Harness.start({
      upstream: harness.upstream,
      config: { upstream: { accepts_images: true }, context_cache: { max_entries: 1 } },
    });
  });
  afterAll(async () => {
    await vision.close();
  });

  it('lists the model as taking images, in a field the OpenAI clients ignore', async () => {
    const models = await vision.json<{ data: Array<Record<string, unknown>> }>('/v1/models');
    expect(models.body.data).toEqual([
      expect.objectContaining({
        id: 'gpt-4o-mini',
        capabilities: { images: true, tools: true, json_output: true },
      }),
    ]);
  });

  it('passes image parts through unchanged', async () => {
    const content = [
      { type: 'text', text: 'what is this?' },
      {
        type: 'image_url',
        image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' },
      },
    ];
    const response = await vision.json('/v1/chat', {
      body: { messages: [{ role: 'user', content }] },
    });
    expect(response.status).toBe(200);
    const sent = harness.upstream.chatRequests.at(-1)!.body as { messages: unknown[] };
    expect(sent.messages).toEqual([{ role: 'user', content }]);
  });

  it('reloads a conversation from the store after the cache evicted it', async () => {
    const first = await vision.json<ChatBody>('/v1/chat', {
      body: { messages: [{ role: 'user', content: 'first' }] },
    });
    // A second conversation pushes the first out of a one-entry cache.
    await vision.json('/v1/chat', { body: { messages: [{ role: 'user', content: 'other' }] } });
    await vision.json('/v1/chat', {
      body: {
        conversation_id: first.body.conversation_id,
        messages: [{ role: 'user', content: 'second' }],
      },
    });
    const sent = harness.upstream.chatRequests.at(-1)!.body as {
      messages: Array<{ content: string }>;
    };
    expect(sent.messages.map((message) => message.content)).toEqual([
      'first',
      '你好！有什么可以帮你的吗？',
      'second',
    ]);
  });
});
