import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { Harness } from '../support/harness.js';

// A conversation begun on one model and continued on another: the stored messages' token counts
// came from the first model's counter (the endpoint's estimate), the second model counts with its
// own tokenizer, which here takes several times as many tokens for the same text.
const modelDir = join(mkdtempSync(join(tmpdir(), 'assistd-switch-')), 'tiny-chat');

interface TurnBody {
  conversation_id: string;
  model: string;
  omitted_messages: number;
  usage: { prompt_tokens: number };
}

let harness: Harness;
beforeAll(async () => {
  mkdirSync(modelDir);
  await writeTinyModel(join(modelDir, 'model.gguf'), { script: 'Short answer.' });
  harness = await Harness.start({
    config: {
      model_path: modelDir,
      default_model: 'tiny-chat',
      upstream: { context_window: 8000 },
      local_model: { context_size: 1024, threads: 1 },
    },
  });
  await harness.waitForReady();
});
afterAll(async () => {
  await harness.close();
});

describe('a conversation that changes model', () => {
  it('is fitted to the new model with its own token counts, oldest turns left out', async () => {
    const long = (label: string) => `${label} ${'lorem ipsum dolor sit amet '.repeat(12)}`;
    let conversation: string | undefined;
    for (const label of ['q1', 'q2', 'q3', 'q4', 'q5', 'q6']) {
      const turn = await harness.json<TurnBody>('/v1/chat', {
        body: {
          ...(conversation ? { conversation_id: conversation } : { model: 'gpt-4o-mini' }),
          messages: [{ role: 'user', content: long(label) }],
        },
      });
      expect(turn.status).toBe(200);
      expect(turn.body.model).toBe('gpt-4o-mini');
      expect(turn.body.omitted_messages).toBe(0);
      conversation = turn.body.conversation_id;
    }
    const local = await harness.json<TurnBody>('/v1/chat', {
      body: {
        conversation_id: conversation,
        model: 'tiny-chat',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 16,
      },
    });
    expect(local.status, JSON.stringify(local.body)).toBe(200);
    expect(local.body.model).toBe('tiny-chat');
    expect(local.body.omitted_messages).toBeGreaterThan(0);
    expect(local.body.usage.prompt_tokens).toBeLessThanOrEqual(1024 - 16);
    // Back on the endpoint, whose window holds everything again.
    const back = await harness.json<TurnBody>('/v1/chat', {
      body: {
        conversation_id: conversation,
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'and again' }],
      },
    });
    expect(back.status).toBe(200);
    expect(back.body.omitted_messages).toBe(0);
  });
});
