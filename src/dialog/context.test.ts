import { describe, expect, it } from 'vitest';
import type { ConversationMessage } from '../providers/types.js';
import { buildPrompt, type CountedMessage } from './context.js';

const counted = (
  role: ConversationMessage['role'],
  content: string,
  tokens: number,
): CountedMessage => ({
  message: { role, content },
  tokens,
});

const history = [
  counted('user', 'q1', 10),
  counted('assistant', 'a1', 10),
  counted('user', 'q2', 10),
  counted('assistant', 'a2', 10),
];

describe('prompt building', () => {
  it('keeps everything when it fits', () => {
    const result = buildPrompt({
      system: counted('system', 'be brief', 5),
      history,
      olderCount: 0,
      fresh: [counted('user', 'q3', 10)],
      budgetTokens: 1000,
    });
    expect(result).toEqual({
      fits: true,
      messages: [
        { role: 'system', content: 'be brief' },
        ...history.map((entry) => entry.message),
        { role: 'user', content: 'q3' },
      ],
      promptTokens: 3 + 5 + 40 + 10,
      omittedMessages: 0,
    });
  });

  it('keeps the system prompt and new messages and drops the oldest history first', () => {
    const result = buildPrompt({
      system: counted('system', 'be brief', 5),
      history,
      olderCount: 6,
      fresh: [counted('user', 'q3', 10)],
      budgetTokens: 3 + 5 + 10 + 25,
    });
    if (!result.fits) throw new Error('expected a prompt');
    expect(result.messages.map((message) => message.content)).toEqual([
      'be brief',
      'q2',
      'a2',
      'q3',
    ]);
    expect(result.omittedMessages).toBe(6 + 2);
    expect(result.promptTokens).toBeLessThanOrEqual(43);
  });

  it('drops turns whole: an answer whose question was left out goes too', () => {
    const result = buildPrompt({
      system: undefined,
      history,
      olderCount: 0,
      fresh: [counted('user', 'q3', 10)],
      // Room for a2 but not for q2 before it.
      budgetTokens: 3 + 10 + 15,
    });
    if (!result.fits) throw new Error('expected a prompt');
    expect(result.messages).toEqual([{ role: 'user', content: 'q3' }]);
    expect(result.omittedMessages).toBe(4);
    expect(result.promptTokens).toBe(3 + 10);
  });

  it('starts kept history at a user message when the store left older ones out', () => {
    const result = buildPrompt({
      system: undefined,
      history: history.slice(1),
      olderCount: 1,
      fresh: [counted('user', 'q3', 10)],
      budgetTokens: 1000,
    });
    if (!result.fits) throw new Error('expected a prompt');
    expect(result.messages.map((message) => message.content)).toEqual(['q2', 'a2', 'q3']);
    expect(result.omittedMessages).toBe(2);
  });

  it('keeps a history that starts with an answer when nothing was left out', () => {
    const result = buildPrompt({
      system: undefined,
      history: history.slice(1),
      olderCount: 0,
      fresh: [counted('user', 'q3', 10)],
      budgetTokens: 1000,
    });
    if (!result.fits) throw new Error('expected a prompt');
    expect(result.messages.map((message) => message.content)).toEqual(['a1', 'q2', 'a2', 'q3']);
    expect(result.omittedMessages).toBe(0);
  });

  it('says how many tokens are needed when the new messages alone do not fit', () => {
    const result = buildPrompt({
      system: counted('system', 'rules', 50),
      history,
      olderCount: 0,
      fresh: [counted('user', 'long question', 100)],
      budgetTokens: 120,
    });
    expect(result).toEqual({ fits: false, requiredTokens: 153 });
  });
});
