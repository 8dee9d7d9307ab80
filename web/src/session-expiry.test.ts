import { describe, expect, it } from 'vitest';
import type { Session } from './api/types';
import {
  type HistoryEntry,
  expiryOf,
  forgetExpiry,
  rememberExpiry,
  rememberedExpiry,
} from './session-expiry';

/** A history entry in memory (the tests run without a DOM). */
function memoryHistory(state: unknown = null): HistoryEntry & { state: unknown } {
  const entry = {
    state,
    replaceState(data: unknown) {
      entry.state = data;
    },
  };
  return entry;
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

  it('keeps the time only, in the history entry, beside what else it holds, and forgets it', () => {
    const history = memoryHistory({ other: 1 });
    rememberExpiry(session('2025-03-01T12:00:00Z'), history);
    expect(rememberedExpiry(history)).toBe(Date.parse('2025-03-01T12:00:00Z'));
    expect(JSON.stringify(history.state)).not.toMatch(/token|csrf|alice/);
    expect(history.state).toMatchObject({ other: 1 });
    rememberExpiry(session(null), history);
    expect(rememberedExpiry(history)).toBeUndefined();
    rememberExpiry(session('2025-03-01T12:00:00Z'), history);
    forgetExpiry(history);
    expect(rememberedExpiry(history)).toBeUndefined();
    expect(history.state).toEqual({ other: 1 });
    // A reload: a new page reads what the entry kept.
    expect(rememberedExpiry(memoryHistory({ assistdSessionExpiresAt: 5 }))).toBe(5);
    expect(rememberedExpiry(memoryHistory('not an object'))).toBeUndefined();
  });

  it('does without history', () => {
    expect(rememberedExpiry(undefined)).toBeUndefined();
    expect(() => rememberExpiry(session('2025-03-01T12:00:00Z'), undefined)).not.toThrow();
  });
});
