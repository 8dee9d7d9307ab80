import { describe, expect, it } from 'vitest';
import type { Session } from './api/types';
import { expiryOf, forgetExpiry, rememberExpiry, rememberedExpiry } from './session-expiry';

/** A Storage in memory (the tests run without a DOM). */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

function session(expiresAt: Session['expires_at']): Session {
  return { principal: 'alice', groups: [], admin: false, csrf_token: 'c', expires_at: expiresAt };
}

describe('session expiry', () => {
  it('reads the expiry the server gives', () => {
    expect(expiryOf(session('2025-03-01T12:00:00Z'))).toBe(Date.parse('2025-03-01T12:00:00Z'));
    expect(expiryOf(session(1_700_000_000_000))).toBe(1_700_000_000_000);
    expect(expiryOf(session(null))).toBeUndefined();
    expect(expiryOf(session('soon'))).toBeUndefined();
  });

  it('remembers the time only, and forgets it', () => {
    const storage = memoryStorage();
    rememberExpiry(session('2025-03-01T12:00:00Z'), storage);
    expect(rememberedExpiry(storage)).toBe(Date.parse('2025-03-01T12:00:00Z'));
    expect(
      JSON.stringify([...Array(storage.length).keys()].map((i) => storage.key(i))),
    ).not.toMatch(/token/);
    rememberExpiry(session(null), storage);
    expect(rememberedExpiry(storage)).toBeUndefined();
    rememberExpiry(session('2025-03-01T12:00:00Z'), storage);
    forgetExpiry(storage);
    expect(rememberedExpiry(storage)).toBeUndefined();
  });

  it('does without storage', () => {
    expect(rememberedExpiry(undefined)).toBeUndefined();
    expect(() => rememberExpiry(session('2025-03-01T12:00:00Z'), undefined)).not.toThrow();
  });
});
