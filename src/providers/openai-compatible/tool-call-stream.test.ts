import { describe, expect, it } from 'vitest';
import { ToolCallNumbering, type RawToolCallDelta } from './tool-call-stream.js';

/** Numbers the pieces and puts the calls together as the openai client does, by index. */
function assemble(pieces: Array<Partial<RawToolCallDelta>>) {
  const numbering = new ToolCallNumbering();
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for (const piece of pieces) {
    const part = numbering.number({
      index: undefined,
      id: undefined,
      name: undefined,
      arguments: '',
      ...piece,
    });
    // The client fails on a call it has not seen begin (an index past the end).
    expect(part.index).toBeLessThanOrEqual(calls.length);
    const call = (calls[part.index] ??= { id: '', name: '', arguments: '' });
    if (part.id !== undefined) call.id = part.id;
    if (part.name !== undefined) call.name += part.name;
    call.arguments += part.arguments;
  }
  return calls.map((call) => ({ ...call, id: call.id.startsWith('call_') ? 'new' : call.id }));
}

describe('numbering streamed tool calls', () => {
  it.each([
    [
      'a new id at an index already used starts a call',
      [
        { index: 0, id: 'a', name: 'f', arguments: '{"x":1}' },
        { index: 0, id: 'b', name: 'g', arguments: '{"y":2}' },
      ],
      [
        { id: 'a', name: 'f', arguments: '{"x":1}' },
        { id: 'b', name: 'g', arguments: '{"y":2}' },
      ],
    ],
    [
      'whole calls without index or id, told apart by their names',
      [
        { name: 'f', arguments: '{}' },
        { name: 'g', arguments: '{}' },
      ],
      [
        { id: 'new', name: 'f', arguments: '{}' },
        { id: 'new', name: 'g', arguments: '{}' },
      ],
    ],
    [
      'numbers from 0 whatever the endpoint starts at',
      [
        { index: 3, id: 'a', name: 'f', arguments: '{' },
        { index: 3, arguments: '}' },
        { index: 1, id: 'b', name: 'g', arguments: '[]' },
      ],
      [
        { id: 'a', name: 'f', arguments: '{}' },
        { id: 'b', name: 'g', arguments: '[]' },
      ],
    ],
    [
      'indexed and unindexed pieces mixed',
      [
        { index: 1, id: 'a', name: 'f', arguments: '1' },
        { id: 'b', name: 'g', arguments: '2' },
        { index: 2, id: 'c', name: 'h', arguments: '3' },
      ],
      [
        { id: 'a', name: 'f', arguments: '1' },
        { id: 'b', name: 'g', arguments: '2' },
        { id: 'c', name: 'h', arguments: '3' },
      ],
    ],
    [
      'unindexed pieces interleaved by id',
      [
        { id: 'a', name: 'f', arguments: '{"x"' },
        { id: 'b', name: 'g', arguments: '{"y"' },
        { id: 'a', arguments: ':1}' },
        { id: 'b', arguments: ':2}' },
      ],
      [
        { id: 'a', name: 'f', arguments: '{"x":1}' },
        { id: 'b', name: 'g', arguments: '{"y":2}' },
      ],
    ],
    [
      'an id that comes after the name belongs to the same call',
      [{ name: 'f' }, { id: 'x', arguments: '{}' }],
      [{ id: 'new', name: 'f', arguments: '{}' }],
    ],
    [
      'a head repeated in every piece is sent once',
      [
        { index: 0, id: 'a', name: 'f', arguments: '{' },
        { index: 0, id: 'a', name: 'f', arguments: '}' },
      ],
      [{ id: 'a', name: 'f', arguments: '{}' }],
    ],
  ])('%s', (_, pieces, calls) => {
    expect(assemble(pieces)).toEqual(calls);
  });
});
