import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import type { ChatRequest, StreamPart, ToolDefinition } from '../types.js';
import { toHistory } from './chat-mapping.js';
import { LlamaJsonSchemaValidationError, QwenChatWrapper } from 'node-llama-cpp';
import { answerEnd, ForcedCallStream, heldBack } from './call-stream.js';
import { badCallError, toolPlan, withInstructions } from './tool-calls.js';

/** An assistant message's call, as the route passes it on. */
const madeCall = (id: string, name: string, args = '{}') => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});
const tool = (name: string, parameters?: Record<string, unknown>): ToolDefinition => ({
  type: 'function',
  function: { name, ...(parameters === undefined ? {} : { parameters }) },
});
const point = tool('point', {
  type: 'object',
  properties: { at: { $ref: '#/$defs/xy' } },
  $defs: { xy: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'number' }] } },
});
const label = tool('label', {
  type: 'object',
  properties: { text: { $ref: '#/$defs/xy' } },
  $defs: { xy: { type: 'string', maxLength: 8 } },
});
const request = (extra: Partial<ChatRequest>): ChatRequest => ({
  messages: [{ role: 'user', content: 'x' }],
  ...extra,
});

describe('toolPlan', () => {
  it('offers the functions to the template with "auto", one call at a time without parallel calls', () => {
    const plan = toolPlan(request({ tools: [point, tool('now')], parallelToolCalls: false }));
    expect(plan.kind).toBe('auto');
    if (plan.kind !== 'auto') return;
    expect(Object.keys(plan.functions)).toEqual(['point', 'now']);
    expect(plan.functions.now).toEqual({});
    expect(plan.functions.point!.params).toMatchObject({ type: 'object' });
    expect(plan.maxParallel).toBe(1);
    expect(toolPlan(request({ tools: [point] }))).toMatchObject({ maxParallel: undefined });
  });

  it('plans nothing without tools or with "none"', () => {
    expect(toolPlan(request({}))).toEqual({ kind: 'none' });
    expect(toolPlan(request({ tools: [point], toolChoice: 'none' }))).toEqual({ kind: 'none' });
  });

  it('makes "required" one grammar over every tool, each tool\'s $defs under its own prefix', () => {
    const plan = toolPlan(request({ tools: [point, label, tool('now')], toolChoice: 'required' }));
    expect(plan.kind).toBe('forced');
    if (plan.kind !== 'forced') return;
    const schema = plan.schema as unknown as {
      oneOf: Array<{ properties: { name: unknown; arguments: unknown } }>;
      $defs: Record<string, unknown>;
    };
    expect(schema.oneOf.map((choice) => choice.properties.name)).toEqual([
      { const: 'point' },
      { const: 'label' },
      { const: 'now' },
    ]);
    expect(schema.oneOf[0]!.properties.arguments).toEqual({
      type: 'object',
      properties: { at: { $ref: '#/$defs/tool0_xy' } },
    });
    expect(schema.oneOf[1]!.properties.arguments).toEqual({
      type: 'object',
      properties: { text: { $ref: '#/$defs/tool1_xy' } },
    });
    expect(schema.oneOf[2]!.properties.arguments).toEqual({ type: 'object', properties: {} });
    expect(Object.keys(schema.$defs).sort()).toEqual(['tool0_xy', 'tool1_xy']);
    expect(plan.instructions).toContain('one of these functions');
    expect(plan.instructions).toContain('- label\n  parameters: {"type":"object"');
  });

  it('refuses parameters whose keywords say another shape than an object, naming the keyword', () => {
    for (const [parameters, keyword] of [
      [{ enum: [1, 2] }, 'enum'],
      [{ $ref: '#/$defs/a', $defs: { a: { type: 'integer' } } }, '$ref'],
      [{ oneOf: [{ type: 'object' }] }, 'oneOf'],
      [{ items: { type: 'integer' } }, 'items'],
      [{ properties: {}, maxLength: 3 }, 'maxLength'],
    ] as const) {
      expect(() => toolPlan(request({ tools: [tool('f', parameters)] }))).toThrow(
        new RegExp(
          `^tools\\[0\\]\\.function\\.parameters\\.\\${keyword}: function parameters must be an object schema`,
        ),
      );
    }
    const plan = toolPlan(request({ tools: [tool('f', { properties: { a: {} } })] }));
    if (plan.kind !== 'auto') throw new Error(plan.kind);
    expect(plan.functions.f!.params).toMatchObject({ type: 'object', properties: { a: {} } });
    // A reference to an object's definition is an object schema.
    const ref = { $ref: '#/$defs/Args', $defs: { Args: { type: 'object', properties: {} } } };
    const referred = toolPlan(request({ tools: [tool('f', ref)], toolChoice: 'required' }));
    expect(referred).toMatchObject({
      kind: 'forced',
      schema: { properties: { arguments: { $ref: '#/$defs/tool0_Args' } } },
    });
  });

  it('leaves what the grammar cannot enforce out of a tool without strict, telling the model; refuses it with strict', () => {
    const parameters = {
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1, description: 'how many' },
        url: { type: 'string', format: 'uri', pattern: '^https://' },
      },
    };
    const plan = toolPlan(request({ tools: [tool('fetch', parameters)] }));
    if (plan.kind !== 'auto') throw new Error(plan.kind);
    expect(plan.functions.fetch!.params).toEqual({
      type: 'object',
      properties: {
        n: { type: 'integer', description: 'how many (Not enforced: {"minimum":1})' },
        url: {
          type: 'string',
          description: 'Not enforced: {"format":"uri","pattern":"^https://"}',
        },
      },
    });
    const strict: ToolDefinition = {
      type: 'function',
      function: { name: 'fetch', parameters, strict: true },
    };
    expect(() => toolPlan(request({ tools: [strict] }))).toThrow(
      /^tools\[0\]\.function\.parameters\.properties\.n\.minimum: the local engine cannot enforce "minimum"/,
    );
  });

  it('makes a named function the only choice', () => {
    const plan = toolPlan(
      request({
        tools: [point, label],
        toolChoice: { type: 'function', function: { name: 'label' } },
      }),
    );
    if (plan.kind !== 'forced') throw new Error(plan.kind);
    expect(plan.schema).toMatchObject({ type: 'object', properties: { name: { const: 'label' } } });
    expect(plan.instructions).toContain('Call the function "label"');
    expect(plan.instructions).not.toContain('- point');
  });

  it('counts every tool against one grammar budget for "required", naming the tool where it runs out', () => {
    const wide = (name: string) =>
      tool(name, {
        type: 'object',
        properties: Object.fromEntries(
          Array.from({ length: 300 }, (_, index) => [`p${index}`, { type: 'string' }]),
        ),
      });
    const four = [wide('a'), wide('b'), wide('c'), wide('d')];
    // Each alone fits (301 of 1,000 schemas): with "auto" or a named function, a grammar holds
    // one of them at a time.
    expect(toolPlan(request({ tools: four })).kind).toBe('auto');
    const named = { type: 'function' as const, function: { name: 'b' } };
    expect(toolPlan(request({ tools: four, toolChoice: named })).kind).toBe('forced');
    // "required" puts all four in one grammar: the fourth passes the budget.
    const error = (() => {
      try {
        toolPlan(request({ tools: four, toolChoice: 'required' }));
      } catch (caught) {
        return caught as AppError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AppError);
    expect(error!.param).toMatch(/^tools\[3\]\.function\.parameters/);
    // Each on its own, still all of them together within ten grammars' worth of checking.
    const many = Array.from({ length: 40 }, (_, index) => wide(`t${index}`));
    expect(() => toolPlan(request({ tools: many.slice(0, 33) }))).not.toThrow();
    expect(() => toolPlan(request({ tools: many }))).toThrow(
      /tools\[33\]\.function\.parameters: the tools' schemas are too large .*10000/,
    );
  });
});

describe('tool calls in the history', () => {
  it('puts each call with its result into the assistant turn, JSON as values; the model goes on in it', () => {
    const history = toHistory([
      { role: 'user', content: 'where?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [madeCall('a', 'locate', '{"q":1}'), madeCall('b', 'raw', 'not json')],
      },
      { role: 'tool', toolCallId: 'b', content: 'plain text' },
      { role: 'tool', toolCallId: 'a', content: '{"x": 2}' },
    ]);
    // No empty turn after the results: templates such as Qwen's reopen the assistant turn
    // there, and a second one would be an empty answer first.
    expect(history).toEqual([
      { type: 'user', text: 'where?' },
      {
        type: 'model',
        response: [
          {
            type: 'functionCall',
            name: 'locate',
            params: { q: 1 },
            result: { x: 2 },
            startsNewChunk: true,
          },
          { type: 'functionCall', name: 'raw', params: 'not json', result: 'plain text' },
        ],
      },
    ]);
  });

  it('joins the answer after the results to the turn of the calls, and matches reused ids to the latest call', () => {
    const call = (name: string) => ({
      id: 'call_0',
      type: 'function' as const,
      function: { name, arguments: '{}' },
    });
    const history = toHistory([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Looking.', toolCalls: [call('first')] },
      { role: 'tool', toolCallId: 'call_0', content: '1' },
      { role: 'assistant', content: 'It is 1.' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: '', toolCalls: [call('second')] },
      { role: 'tool', toolCallId: 'call_0', content: '2' },
      { role: 'assistant', content: 'It is 2.' },
      { role: 'user', content: 'thanks' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: 'one' },
      {
        type: 'model',
        response: [
          'Looking.',
          { type: 'functionCall', name: 'first', params: {}, result: 1, startsNewChunk: true },
          'It is 1.',
        ],
      },
      { type: 'user', text: 'two' },
      {
        type: 'model',
        response: [
          { type: 'functionCall', name: 'second', params: {}, result: 2, startsNewChunk: true },
          'It is 2.',
        ],
      },
      { type: 'user', text: 'thanks' },
      { type: 'model', response: [] },
    ]);
  });

  it('refuses two calls of one message with one id, naming the second', () => {
    const call = { id: 'c', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    expect(() =>
      toHistory([
        { role: 'user', content: 'x' },
        { role: 'assistant', content: '', toolCalls: [call, call] },
        { role: 'tool', toolCallId: 'c', content: 'ok' },
      ]),
    ).toThrow(/^messages\[1\]\.tool_calls\[1\]: the id "c" is that of tool_calls\[0\] too/);
  });

  it('refuses a second result for one call, and a result after a later message, naming the tool message', () => {
    const call = { id: 'c', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    const asked = { role: 'user' as const, content: 'x' };
    const made = { role: 'assistant' as const, content: '', toolCalls: [call] };
    const result = { role: 'tool' as const, toolCallId: 'c', content: 'ok' };
    expect(() => toHistory([asked, made, result, result])).toThrow(
      /^messages\[3\]\.tool_call_id: call "c" has its result already/,
    );
    expect(() => toHistory([asked, made, { role: 'user', content: 'and?' }, result])).toThrow(
      /^messages\[3\]\.tool_call_id: a tool message must follow the assistant message/,
    );
  });

  it('refuses a call no tool message answers, naming it', () => {
    expect(() =>
      toHistory([
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [madeCall('a', 'f'), madeCall('b', 'g')],
        },
        { role: 'tool', toolCallId: 'a', content: 'ok' },
      ]),
    ).toThrow(/^messages\[1\]\.tool_calls\[1\]: no tool message answers call "b"/);
  });

  it('adds the forced call instructions to the system message, or as one', () => {
    const withSystem = toHistory([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'x' },
    ]);
    withInstructions(withSystem, 'Call f.');
    expect(withSystem[0]).toEqual({ type: 'system', text: 'Be brief.\n\nCall f.' });
    const without = toHistory([{ role: 'user', content: 'x' }]);
    withInstructions(without, 'Call f.');
    expect(without[0]).toEqual({ type: 'system', text: 'Call f.' });
  });
});

describe('ForcedCallStream', () => {
  const run = (pieces: string[]) => {
    const stream = new ForcedCallStream();
    const parts = pieces.flatMap((piece) => stream.push(piece));
    return { parts: [...parts, ...stream.end()], called: stream.called };
  };
  const args = (parts: StreamPart[]) =>
    parts.map((part) => (part.type === 'tool-call-delta' ? part.arguments : '')).join('');

  it('sends the head once the name is written, then the arguments as they come, without the closing brace', () => {
    const { parts, called } = run([
      '{ "na',
      'me": "f", "argu',
      'ments":',
      ' ',
      '{"a": ',
      '[1, 2]',
      '}',
      '\n}',
    ]);
    expect(called).toBe(true);
    expect(parts[0]).toMatchObject({ type: 'tool-call-delta', index: 0, name: 'f', arguments: '' });
    expect((parts[0] as { id: string }).id).toMatch(/^call_/);
    expect(parts.slice(1).every((part) => part.type === 'tool-call-delta' && !part.id)).toBe(true);
    // The arguments as the model wrote them, streamed before the answer ended.
    expect(args(parts)).toBe('{"a": [1, 2]}');
    expect(parts.length).toBeGreaterThan(3);
  });

  it("keeps the arguments' own closing braces, and all of an unfinished call's text", () => {
    expect(args(run(['{"name": "f", "arguments": {"a": {"b": {}}}}']).parts)).toBe(
      '{"a": {"b": {}}}',
    );
    const cut = run(['{"name": "f", "arguments": {"a": {"b": {}', '}']);
    expect(cut.called).toBe(true);
    expect(args(cut.parts)).toBe('{"a": {"b": {}}');
  });

  it('holds back only a last closing brace and white space, in time linear in the text', () => {
    expect(heldBack('{"a": 1}')).toBe(7);
    expect(heldBack('{"a": 1}  \n}  ')).toBe(8);
    expect(heldBack('"x"  ')).toBe(3);
    expect(heldBack('}}')).toBe(1);
    // A string argument of 200,000 spaces: an anchored regular expression took seconds.
    const spaces = `"${' '.repeat(200_000)}x`;
    expect(heldBack(spaces)).toBe(spaces.length);
  });

  it('reads a whole answer whose opening the pattern missed as the call', () => {
    // An escaped name (the grammar writes none: names are letters, digits, _ and -).
    const { parts, called } = run(['{"name":"\\u0066","arguments":{"a":1}}']);
    expect(called).toBe(true);
    expect(parts).toMatchObject([{ type: 'tool-call-delta', name: 'f', arguments: '{"a":1}' }]);
  });

  it('gives an answer cut before its arguments began as text', () => {
    const { parts, called } = run(['{ "name": "f"']);
    expect(called).toBe(false);
    expect(parts).toEqual([{ type: 'text-delta', text: '{ "name": "f"' }]);
    // Cut after the arguments' key, before their value began: still text.
    expect(run(['{ "name": "f", "arguments": ']).parts).toEqual([
      { type: 'text-delta', text: '{ "name": "f", "arguments": ' },
    ]);
  });
});

describe('badCallError', () => {
  it("makes node-llama-cpp's failed check of a call's parameters a 502 that says so", () => {
    const error = badCallError(
      new LlamaJsonSchemaValidationError(
        'Expected type "integer" but got "number"',
        {},
        { type: 'integer' },
      ),
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error!.code).toBe('upstream_bad_response');
    expect(error!.status).toBe(502);
    expect(error!.message).toContain('check of the tool\'s parameters (Expected type "integer"');
    expect(badCallError(new Error('other'))).toBeUndefined();
  });
});

describe('answerEnd', () => {
  const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
  const call = {
    id: 'call_x',
    type: 'function' as const,
    function: { name: 'f', arguments: '{}' },
  };
  it('finishes with "tool_calls" when there are calls, "length" when max_tokens cut the answer', () => {
    const parts = (finishReason: 'stop' | 'length' | 'tool_calls', calls = [call]) => [
      ...answerEnd({ finishReason, usage, toolCalls: calls }, undefined),
    ];
    expect(parts('tool_calls').map((part) => part.type)).toEqual(['tool-call-delta', 'finish']);
    expect(parts('tool_calls').at(-1)).toMatchObject({ finishReason: 'tool_calls' });
    // A parallel call after the first was dropped unfinished: the answer was cut.
    expect(parts('length').at(-1)).toMatchObject({ finishReason: 'length' });
    expect(parts('tool_calls', []).at(-1)).toMatchObject({ finishReason: 'stop' });
  });

  it('finishes a forced call cut after its whole arguments (before the brace around them) as "tool_calls"', () => {
    const end = (text: string, finishReason: 'stop' | 'length') => {
      const stream = new ForcedCallStream();
      stream.push(text);
      stream.end();
      return [...answerEnd({ finishReason, usage, toolCalls: [] }, stream)].at(-1);
    };
    expect(end('{"name": "f", "arguments": {"a": 1}}', 'stop')).toMatchObject({
      finishReason: 'tool_calls',
    });
    expect(end('{"name": "f", "arguments": {"a": 1}', 'length')).toMatchObject({
      finishReason: 'tool_calls',
    });
    expect(end('{"name": "f", "arguments": {"a": 1', 'length')).toMatchObject({
      finishReason: 'length',
    });
  });
});

describe('forced call schemas', () => {
  it('keeps a parameter named "$defs" while moving the root definitions', () => {
    const plan = toolPlan(
      request({
        tools: [
          tool('f', {
            type: 'object',
            properties: { $defs: { $ref: '#/$defs/d' } },
            $defs: { d: { type: 'boolean' } },
          }),
        ],
        toolChoice: 'required',
      }),
    );
    if (plan.kind !== 'forced') throw new Error(plan.kind);
    expect(plan.schema).toMatchObject({
      properties: {
        arguments: { type: 'object', properties: { $defs: { $ref: '#/$defs/tool0_d' } } },
      },
      $defs: { tool0_d: { type: 'boolean' } },
    });
  });
});

describe('a call and its result in a template that reopens the assistant turn (Qwen)', () => {
  it('ends the prompt with one open assistant turn after the result, not an empty answer first', () => {
    const history = toHistory([
      { role: 'user', content: 'where?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [madeCall('a', 'locate', '{"q":1}')],
      },
      { role: 'tool', toolCallId: 'a', content: '{"x": 2}' },
    ]);
    const prompt = new QwenChatWrapper()
      .generateContextState({ chatHistory: history, availableFunctions: { locate: {} } })
      .contextText.toString();
    expect(prompt).toContain(
      '<tool_call>\n{"name": "locate", "arguments": {"q": 1}}\n</tool_call>',
    );
    expect(
      prompt.endsWith(
        '<tool_response>\n{"x": 2}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
      ),
    ).toBe(true);
  });
});
