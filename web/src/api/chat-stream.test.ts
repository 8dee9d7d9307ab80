import { describe, expect, it } from 'vitest';
import { ApiError, errorFromResponse } from './api-error';
import { type ChatStreamPart, streamChat } from './chat-stream';
import type { ApiClient } from './client';

/** A client whose every request answers `response` (or its ApiError when not 2xx). */
function clientAnswering(response: Response, seen: unknown[] = []): ApiClient {
  return {
    async request(_path, options) {
      seen.push(options?.body);
      if (!response.ok) throw await errorFromResponse(response);
      return response;
    },
    async json() {
      throw new Error('not used');
    },
    csrfToken: () => 'csrf',
  };
}

/** An SSE body delivered in the given chunks. */
function sseResponse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

async function collect(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('streamChat', () => {
  it("turns the server's events into parts and sends stream: true", async () => {
    const seen: unknown[] = [];
    const api = clientAnswering(
      sseResponse([
        'event: start\ndata: {"id":"chat_1","conversation_id":"conv_1","model":"m"}\n\n',
        'event: delta\ndata: {"content":"Hel"}\n\nevent: del',
        'ta\ndata: {"content":"lo"}\n\n',
        'event: done\ndata: {"finish_reason":"length","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n',
      ]),
      seen,
    );
    const parts = await collect(
      streamChat(
        api,
        { content: 'hi', model: 'm', temperature: 0.5 },
        new AbortController().signal,
      ),
    );
    expect(seen).toEqual([
      { messages: [{ role: 'user', content: 'hi' }], stream: true, model: 'm', temperature: 0.5 },
    ]);
    expect(parts).toEqual([
      { type: 'start', id: 'chat_1', conversationId: 'conv_1', model: 'm' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      {
        type: 'finish',
        finishReason: 'length',
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      },
    ]);
  });

  it('ends with an error part when the server reports one midway', async () => {
    const api = clientAnswering(
      sseResponse([
        'event: start\ndata: {"id":"c","conversation_id":"v","model":"m"}\n\n',
        'event: error\ndata: {"error":{"message":"boom","type":"server_error","code":"upstream_error"}}\n\n',
      ]),
    );
    const parts = await collect(streamChat(api, { content: 'hi' }, new AbortController().signal));
    const last = parts.at(-1);
    expect(last?.type).toBe('error');
    expect(last?.type === 'error' && last.error.code).toBe('upstream_error');
  });

  it('reports a stream that closes without done or error as interrupted', async () => {
    const api = clientAnswering(
      sseResponse(['event: start\ndata: {"id":"c","conversation_id":"v","model":"m"}\n\n']),
    );
    const parts = await collect(streamChat(api, { content: 'hi' }, new AbortController().signal));
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'stream_interrupted' } });
  });

  it('rejects with the HTTP error, Retry-After included, before the stream starts', async () => {
    const api = clientAnswering(
      new Response(
        JSON.stringify({
          error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' },
        }),
        { status: 429, headers: { 'retry-after': '7', 'content-type': 'application/json' } },
      ),
    );
    const failure = await collect(
      streamChat(api, { content: 'hi' }, new AbortController().signal),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 7 });
  });
});
