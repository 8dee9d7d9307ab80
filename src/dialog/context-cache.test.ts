import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../storage/types.js';
import { ContextCache, type CachedContext } from './context-cache.js';

function entry(id: string, text: string): CachedContext {
  const message: MessageRecord = {
    id: `msg_${id}`,
    conversationId: id,
    seq: 1,
    role: 'user',
    content: text,
    tokens: 1,
    incomplete: false,
    createdAt: 0,
  };
  return {
    conversation: {
      id,
      principal: 'p',
      title: 't',
      model: 'm',
      systemPrompt: undefined,
      createdAt: 0,
      updatedAt: 0,
      messageCount: 1,
    },
    messages: [message],
    olderCount: 0,
    budgetTokens: 100,
  };
}

describe('context cache', () => {
  it('counts hits and misses', () => {
    const cache = new ContextCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: 1_000_000 });
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', entry('a', 'hello'));
    expect(cache.get('a')?.messages[0]?.content).toBe('hello');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
  });

  it('expires an entry after the TTL since its last use', () => {
    let now = 1_000_000;
    const cache = new ContextCache({
      ttlMs: 1_800_000,
      maxEntries: 10,
      maxBytes: 1_000_000,
      clock: () => now,
    });
    cache.set('a', entry('a', 'hello'));
    now += 1_000_000;
    expect(cache.get('a')).toBeDefined(); // use resets the clock
    now += 1_700_000;
    expect(cache.get('a')).toBeDefined();
    now += 1_800_001;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, expirations: 1, entries: 0 });
  });

  it('evicts the least recently used entries to stay within its byte bound', () => {
    const cache = new ContextCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 4096 });
    const big = 'x'.repeat(600); // about 1.5 KB each once counted as UTF-16 with overhead
    cache.set('a', entry('a', big));
    cache.set('b', entry('b', big));
    cache.get('a');
    cache.set('c', entry('c', big));
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.evictions).toBe(1);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('evicts beyond its entry bound', () => {
    const cache = new ContextCache({ ttlMs: 60_000, maxEntries: 2, maxBytes: 1_000_000 });
    for (const id of ['a', 'b', 'c']) cache.set(id, entry(id, id));
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1 });
  });
});
