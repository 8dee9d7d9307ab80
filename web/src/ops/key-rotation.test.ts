import { describe, expect, it } from 'vitest';
import type { SigningKeyView } from '../api/keys';
import { rotationText, shortKid } from './key-rotation';

const now = Date.parse('2025-03-01T12:00:00Z');
const dayMs = 24 * 60 * 60 * 1000;

function key(overrides: Partial<SigningKeyView>): SigningKeyView {
  return {
    kid: 'k1',
    source: 'generated',
    status: 'active',
    created_at: '2025-01-01T00:00:00Z',
    signs_until: new Date(now + 12 * dayMs + 1000).toISOString(),
    expires_at: null,
    retired_at: null,
    ...overrides,
  };
}

describe('rotationText', () => {
  it('counts whole days until the active generated key stops signing', () => {
    expect(rotationText(key({}), now)).toBe('rotates in 12 days');
    expect(rotationText(key({ signs_until: new Date(now + dayMs).toISOString() }), now)).toBe(
      'rotates in 1 day',
    );
    expect(rotationText(key({ signs_until: new Date(now + 60_000).toISOString() }), now)).toBe(
      'rotates within a day',
    );
  });

  it('says overdue once signs_until has passed', () => {
    expect(rotationText(key({ signs_until: new Date(now).toISOString() }), now)).toBe('overdue');
    expect(rotationText(key({ signs_until: new Date(now - 3 * dayMs).toISOString() }), now)).toBe(
      'overdue',
    );
  });

  it('says nothing for other keys or an unreadable time', () => {
    expect(rotationText(key({ source: 'imported' }), now)).toBeUndefined();
    expect(rotationText(key({ status: 'verifying-only' }), now)).toBeUndefined();
    expect(rotationText(key({ status: 'retired' }), now)).toBeUndefined();
    expect(rotationText(key({ signs_until: null }), now)).toBeUndefined();
    expect(rotationText(key({ signs_until: 'soon' }), now)).toBeUndefined();
  });
});

describe('shortKid', () => {
  it('keeps a short kid and shortens a long one', () => {
    expect(shortKid('abc')).toBe('abc');
    expect(shortKid('0123456789abcdef')).toBe('0123456789abcdef');
    expect(shortKid('0123456789abcdefXYZ')).toBe('0123456789ab…');
  });
});
