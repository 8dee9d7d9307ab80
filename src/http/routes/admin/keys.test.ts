import { describe, expect, it } from 'vitest';
import type { KeyView } from '../../../security/keyring.js';
import { keyListJson } from './keys.js';

const day = 86_400_000;

function key(kid: string, createdAt: number, extra: Partial<KeyView> = {}): KeyView {
  return {
    kid,
    source: 'generated',
    status: 'verifying-only',
    createdAt,
    signsUntil: createdAt + day,
    expiresAt: createdAt + 2 * day,
    retiredAt: undefined,
    ...extra,
  };
}

describe('keyListJson', () => {
  it('puts the newest key first (ties by kid) and writes times as ISO strings or null', () => {
    const keys = [
      key('old', 0, { status: 'retired', retiredAt: day / 2 }),
      key('b', 5 * day, { status: 'active' }),
      key('a', 5 * day),
      key('idp', 3 * day, {
        source: 'imported',
        signsUntil: undefined,
        expiresAt: undefined,
      }),
    ];
    const json = keyListJson(keys);
    expect(json.map((entry) => entry.kid)).toEqual(['a', 'b', 'idp', 'old']);
    expect(json[2]).toEqual({
      kid: 'idp',
      source: 'imported',
      status: 'verifying-only',
      created_at: '1970-01-04T00:00:00.000Z',
      signs_until: null,
      expires_at: null,
      retired_at: null,
    });
    expect(json[3]?.retired_at).toBe('1970-01-01T12:00:00.000Z');
    expect(keys[0]?.kid).toBe('old');
  });
});
