import { describe, expect, it } from 'vitest';
import { splitScript, spaceMarker } from './script-pieces.js';
import { defaultScript } from './tiny-model.js';
import { baseTokens } from './vocabulary.js';

function expectValidPieces(script: string): string[] {
  const pieces = splitScript(script);
  expect(pieces.join('').replaceAll(spaceMarker, ' ')).toBe(script);
  expect(new Set(pieces).size).toBe(pieces.length);
  const reserved = new Set(baseTokens());
  for (const piece of pieces) {
    expect([...piece].length).toBeGreaterThanOrEqual(3);
    expect(reserved.has(piece)).toBe(false);
  }
  return pieces;
}

describe('splitScript', () => {
  it('splits the default script word by word, spaces as U+2581', () => {
    const pieces = expectValidPieces(defaultScript);
    expect(pieces.slice(0, 4)).toEqual(['This', '▁is', '▁the', '▁assistd']);
    expect(pieces.at(-1)).toBe('▁--model-endpoint.');
  });

  it('joins short and repeated words into distinct pieces of 3+ characters', () => {
    expect(expectValidPieces('a b a b a b')).toEqual(['a▁b', '▁a▁b▁a▁b']);
    expectValidPieces('the cat the cat the cat');
    expectValidPieces('ok ok ok ok');
    expectValidPieces('abc');
    expectValidPieces('trailing space ');
    expectValidPieces('two  spaces and\nnew lines\n');
  });

  it('keeps text without spaces (Chinese) as whole pieces', () => {
    expect(expectValidPieces('你好，我是演示模型。')).toEqual(['你好，我是演示模型。']);
  });

  it('refuses scripts it cannot answer exactly', () => {
    expect(() => splitScript('hi')).toThrow(/at least 3 characters/);
    expect(() => splitScript(' leading')).toThrow(/white space/);
    expect(() => splitScript('a\u2581b')).toThrow(/U\+2581/);
    expect(() => splitScript('done<|im_end|>')).toThrow(/ChatML/);
    expect(() => splitScript('x'.repeat(2001))).toThrow(/at most 2000/);
    expect(() => splitScript('<s>')).toThrow(/cannot be a vocabulary piece/);
  });
});
