import { ApiError, errorFromBody, isRecord } from './api-error';
import type { ApiClient } from './client';
import { SseParser, type ServerSentEvent } from './sse-parser';
import type { ContentPart, Usage } from './types';

/** One turn sent to `POST /v1/chat`. Without `conversation_id` the server starts a conversation. */
export interface ChatTurnRequest {
  /** The text, or content parts when images are attached. */
  content: string | ContentPart[];
  conversationId?: string | undefined;
  model?: string | undefined;
  /** 0–2; left out, the model's default applies. */
  temperature?: number | undefined;
}

/** The `/v1/chat` stream as the console uses it; names follow the server's stream parts. */
export type ChatStreamPart =
  | { type: 'start'; id: string; conversationId: string; model: string }
  | { type: 'text-delta'; text: string }
  | { type: 'finish'; finishReason: string; usage: Usage | undefined }
  | { type: 'error'; error: ApiError };

/**
 * Sends one turn with `stream: true` and yields its parts. A failure before the stream starts
 * rejects with the ApiError (HTTP status, `Retry-After`); one after it is an `error` part. Aborting
 * `signal` rejects the pending read with an AbortError: the caller keeps what it has shown.
 */
export async function* streamChat(
  api: ApiClient,
  turn: ChatTurnRequest,
  signal: AbortSignal,
): AsyncGenerator<ChatStreamPart> {
  const response = await api.request('/v1/chat', {
    method: 'POST',
    accept: 'text/event-stream',
    signal,
    body: {
      messages: [{ role: 'user', content: turn.content }],
      stream: true,
      ...(turn.conversationId === undefined ? {} : { conversation_id: turn.conversationId }),
      ...(turn.model === undefined ? {} : { model: turn.model }),
      ...(turn.temperature === undefined ? {} : { temperature: turn.temperature }),
    },
  });
  if (response.body === null) {
    throw new ApiError('The server sent an empty answer.', {
      status: response.status,
      code: 'empty_stream',
    });
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const events = done ? parser.end() : parser.push(value);
      for (const event of events) {
        const part = toPart(event);
        if (part === undefined) continue;
        yield part;
        if (part.type === 'finish' || part.type === 'error') ended = true;
      }
      if (done || ended) break;
    }
  } finally {
    // Reading stops at `done`/`error`; cancelling also closes the connection when the caller quits.
    await reader.cancel().catch(() => undefined);
  }
  if (!ended) {
    yield {
      type: 'error',
      error: new ApiError('The connection closed before the answer was finished.', {
        status: 0,
        code: 'stream_interrupted',
      }),
    };
  }
}

/** Unknown events and unparsable data are skipped: a newer server may send more than these. */
function toPart(event: ServerSentEvent): ChatStreamPart | undefined {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  if (!isRecord(data)) return undefined;
  switch (event.event) {
    case 'start':
      return {
        type: 'start',
        id: stringField(data.id),
        conversationId: stringField(data.conversation_id),
        model: stringField(data.model),
      };
    case 'delta':
      return typeof data.content === 'string'
        ? { type: 'text-delta', text: data.content }
        : undefined;
    case 'done':
      return {
        type: 'finish',
        finishReason: typeof data.finish_reason === 'string' ? data.finish_reason : 'stop',
        usage: isRecord(data.usage) ? (data.usage as unknown as Usage) : undefined,
      };
    case 'error':
      return { type: 'error', error: errorFromBody(data, 200) };
    default:
      return undefined;
  }
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
