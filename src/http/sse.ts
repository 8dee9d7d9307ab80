import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { errorBody } from '../errors.js';
import type { FinishReason, StreamPart, ToolCallDelta, Usage } from '../providers/types.js';

/** One server-sent event. JSON never holds a raw newline, so one `data:` line is enough. */
export function sseEvent(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return event === undefined ? `data: ${payload}\n\n` : `event: ${event}\ndata: ${payload}\n\n`;
}

/**
 * Sends a stream of SSE text; the generator is closed (and cleans up) if the client leaves. A
 * client that stops reading (the socket's buffer stays full for `stallMs`) is disconnected, which
 * aborts the work behind the stream: backpressure alone would hold its model sequence or upstream
 * connection for as long as the client keeps the socket open.
 *
 * `parts` (from `startStream`) is released when the response closes, however it ends: a
 * generator closed before its first read never runs its body, so the events generator alone
 * could not (a client gone a moment after the request, or a reply replaced by an error, kept its
 * model sequence and its conversation's lock for good).
 */
export function sendEventStream(
  reply: FastifyReply,
  events: AsyncIterable<string>,
  stallMs: number,
  parts: StartedStream,
): FastifyReply {
  const raw = reply.raw;
  const release = () => void parts.release().catch(() => undefined);
  if (raw.destroyed) release();
  else raw.once('close', release);
  let stalledSince: number | undefined;
  const watch = setInterval(
    () => {
      if (!raw.writableNeedDrain) {
        stalledSince = undefined;
        return;
      }
      const now = Date.now();
      stalledSince ??= now;
      if (now - stalledSince >= stallMs) {
        reply.log.warn({ stall_ms: now - stalledSince }, 'client stopped reading a stream: closed');
        raw.destroy();
      }
    },
    Math.min(1000, Math.max(10, stallMs / 4)),
  );
  watch.unref();
  raw.once('close', () => clearInterval(watch));
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no')
    .send(Readable.from(events, { objectMode: false }));
}

/** A stream whose first part was pulled; `release` ends the work behind it (idempotent). */
export interface StartedStream extends AsyncIterable<StreamPart> {
  release(): Promise<void>;
}

/** Pulls the first part before anything is sent, so an early failure is still an HTTP error. */
export async function startStream(parts: AsyncIterable<StreamPart>): Promise<StartedStream> {
  const iterator = parts[Symbol.asyncIterator]();
  const first = await iterator.next();
  let released: Promise<void> | undefined;
  const release = () => (released ??= Promise.resolve(iterator.return?.()).then(() => undefined));
  async function* all(): AsyncGenerator<StreamPart> {
    try {
      if (first.done !== true) yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await release();
    }
  }
  return Object.assign(all(), { release });
}

export interface ChatStreamInfo {
  id: string;
  conversationId: string;
  model: string;
  omittedMessages: number;
}

/**
 * `/v1/chat` events: `start` (ids), `delta` (text), then `done` (finish reason and usage) or
 * `error` (the OpenAI error shape).
 */
export async function* chatEvents(info: ChatStreamInfo, parts: AsyncIterable<StreamPart>) {
  yield sseEvent({ id: info.id, conversation_id: info.conversationId, model: info.model }, 'start');
  for await (const part of parts) {
    if (part.type === 'text-delta') {
      yield sseEvent({ content: part.text }, 'delta');
    } else if (part.type === 'finish') {
      yield sseEvent(
        {
          id: info.id,
          conversation_id: info.conversationId,
          model: info.model,
          finish_reason: part.finishReason,
          usage: usageBody(part.usage),
          omitted_messages: info.omittedMessages,
        },
        'done',
      );
    } else if (part.type === 'error') {
      yield sseEvent(errorBody(part.error), 'error');
    }
  }
}

export interface CompletionStreamInfo {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
}

/** OpenAI `chat.completion.chunk` events, ending with `[DONE]` (not after an error). */
export async function* completionEvents(
  info: CompletionStreamInfo,
  parts: AsyncIterable<StreamPart>,
) {
  const chunk = (delta: object, finishReason: FinishReason | null) => ({
    id: info.id,
    object: 'chat.completion.chunk',
    created: info.created,
    model: info.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(info.includeUsage ? { usage: null } : {}),
  });
  yield sseEvent(chunk({ role: 'assistant', content: '' }, null));
  for await (const part of parts) {
    if (part.type === 'text-delta') {
      yield sseEvent(chunk({ content: part.text }, null));
    } else if (part.type === 'tool-call-delta') {
      yield sseEvent(chunk({ tool_calls: [toolCallDeltaBody(part)] }, null));
    } else if (part.type === 'finish') {
      yield sseEvent(chunk({}, part.finishReason));
      if (info.includeUsage) {
        yield sseEvent({
          id: info.id,
          object: 'chat.completion.chunk',
          created: info.created,
          model: info.model,
          choices: [],
          usage: usageBody(part.usage),
        });
      }
      yield sseEvent('[DONE]');
    } else {
      yield sseEvent(errorBody(part.error));
    }
  }
}

/** A streamed tool call's piece as OpenAI sends it: id, type and name with the first piece only. */
function toolCallDeltaBody(part: ToolCallDelta) {
  return {
    index: part.index,
    ...(part.id === undefined ? {} : { id: part.id, type: 'function' }),
    function: {
      ...(part.name === undefined ? {} : { name: part.name }),
      arguments: part.arguments,
    },
  };
}

export function usageBody(usage: Usage | undefined) {
  const body = {
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    total_tokens: usage?.totalTokens ?? 0,
  };
  // OpenAI's field for prompt tokens served from cache; only models that know it report it.
  return usage?.cachedPromptTokens === undefined
    ? body
    : { ...body, prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens } };
}
