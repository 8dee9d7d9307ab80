import { describe, expect, it } from 'vitest';
import { randomId } from './ids.js';

describe('ids', () => {
  it('are prefixed, 32 hex characters, unique and ordered by creation time', async () => {
    const first = Array.from({ length: 2000 }, () => randomId('msg'));
    await new Promise((resolve) => setTimeout(resolve, 2));
    const later = randomId('msg');
    expect(first.every((id) => /^msg_[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(first).size).toBe(first.length);
    expect(first.every((id) => id < later)).toBe(true);
  });
});
