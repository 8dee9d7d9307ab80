import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInFiles } from '../support/encrypted-store.js';
import { Harness } from '../support/harness.js';

/** A string that occurs nowhere else, so finding it in a file can only mean a leak. */
const unique = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

interface ConversationBody {
  title: string;
  system_prompt: string | null;
  messages: Array<{ id: string; role: string; content: unknown }>;
}

describe('conversations encrypted at rest, through the server', () => {
  let harness: Harness;
  const question = unique('question');
  const prompt = unique('prompt');
  let conversationId = '';

  beforeAll(async () => {
    harness = await Harness.start();
    const chat = await harness.json<{ conversation_id: string }>('/v1/chat', {
      body: {
        messages: [
          { role: 'system', content: prompt },
          { role: 'user', content: `Please answer ${question}` },
        ],
      },
    });
    expect(chat.status).toBe(200);
    conversationId = chat.body.conversation_id;
  });
  afterAll(async () => {
    await harness.close();
  });

  it('answers in clear over HTTP while no file of the data dir holds the text', async () => {
    const read = await harness.json<ConversationBody>(`/v1/conversations/${conversationId}`);
    expect(read.status).toBe(200);
    expect(read.body.system_prompt).toBe(prompt);
    expect(read.body.title).toContain(question);
    expect(read.body.messages[0]).toMatchObject({
      role: 'user',
      content: `Please answer ${question}`,
    });
    expect(read.body.messages).toHaveLength(2);
    expect(findInFiles(harness.dataDir, [question, prompt])).toEqual([]);
  });

  it('answers 500 internal_error for a tampered row, keeping the details in the log', async () => {
    const db = new Database(join(harness.dataDir, 'assistd.db'));
    const [first, second] = db
      .prepare('SELECT id FROM messages WHERE conversation_id = ? ORDER BY seq')
      .pluck()
      .all(conversationId) as string[];
    // The question's ciphertext, moved into the answer's row.
    db.prepare(
      'UPDATE messages SET content = (SELECT content FROM messages WHERE id = ?) WHERE id = ?',
    ).run(first, second);
    db.close();

    const response = await harness.request(`/v1/conversations/${conversationId}`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal_error' } });
    for (const hidden of [question, 'cannot decrypt', second!, 'aenc:']) {
      expect(text).not.toContain(hidden);
    }
    const failure = harness
      .logs()
      .split('\n')
      .find((line) => line.includes('request failed'));
    expect(failure).toContain(`cannot decrypt messages.content:${second}`);
    expect(failure).not.toContain(question);
  });

  it('leaves no plaintext after shutdown either', async () => {
    await harness.server.shutdown('checking the files');
    expect(findInFiles(harness.dataDir, [question, prompt])).toEqual([]);
  });
});
