import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamPart } from '../providers/types.js';
import { chatEvents, sendEventStream, startStream } from './sse.js';

const info = { id: 't', conversationId: 'c', model: 'm', omittedMessages: 0 };

/** A model stream that yields one part, then waits for ever; `ended` says whether it was released. */
function modelStream() {
  const state = { ended: false };
  async function* parts(): AsyncGenerator<StreamPart> {
    try {
      yield { type: 'text-delta', text: 'first' };
      await new Promise(() => undefined);
    } finally {
      state.ended = true;
    }
  }
  return { parts: parts(), state };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function eventually(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 2_000) throw new Error('not within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a stream ended before its first event was read', () => {
  it('releases the model stream when the client was gone before sending began', async () => {
    const { parts, state } = modelStream();
    app = Fastify();
    app.get('/', async (request, reply) => {
      const started = await startStream(parts);
      reply.raw.destroy(); // the client left while the first part was pulled
      return sendEventStream(reply, chatEvents(info, started), 1_000, started);
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    await fetch(url).catch(() => undefined);
    await eventually(() => state.ended);
  });

  it('releases it when the reply is replaced before any event is read (a refused audit)', async () => {
    const { parts, state } = modelStream();
    app = Fastify();
    app.addHook('onSend', (_request, reply, payload, done) => {
      (payload as { destroy(): void }).destroy();
      void reply.code(503).header('content-type', 'application/json');
      done(
        null,
        '{"error":{"message":"refused","type":"server_error","code":"audit_unavailable"}}',
      );
    });
    app.get('/', async (_request, reply) => {
      const started = await startStream(parts);
      return sendEventStream(reply, chatEvents(info, started), 1_000, started);
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(url);
    expect(response.status).toBe(503);
    await response.text();
    await eventually(() => state.ended);
  });
});
