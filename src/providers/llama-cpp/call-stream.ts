import { newToolCallId } from '../openai-compatible/tool-call-stream.js';
import type { FinishReason, StreamPart, ToolCall, ToolCallDelta, Usage } from '../types.js';
import { isObject } from './json-schema-choices.js';

// How a local answer's calls go out in the stream: a forced call as the model writes it
// (ForcedCallStream), the calls node-llama-cpp finished ("auto") after the text, then the finish.

/**
 * The opening of a forced answer up to its arguments, once they have begun (names are letters,
 * digits, _ and -).
 */
const forcedHead = /^\s*\{\s*"name"\s*:\s*"([A-Za-z0-9_-]+)"\s*,\s*"arguments"\s*:\s*(?=\S)/;

/**
 * A forced answer's text, as the model writes it, streamed as its call: once
 * `{"name": "…", "arguments": ` is written the call's head goes out (id and name), then the
 * arguments as they come, all but what may still be the closing brace of the object around them.
 * The arguments are the model's own text (not parsed and written again).
 */
export class ForcedCallStream {
  private text = '';
  private pending = '';
  private head = false;
  private started = false;
  private args = '';

  /** Whether the call's head went out: the answer is a call. */
  get called(): boolean {
    return this.head;
  }

  /**
   * Whether the arguments that went out are whole JSON (after `end`): max_tokens may cut the
   * answer after them, before the closing brace around them, and the call is still whole.
   */
  get whole(): boolean {
    return this.head && isJson(this.args);
  }

  push(text: string): ToolCallDelta[] {
    this.text += text;
    this.pending += text;
    const parts: ToolCallDelta[] = [];
    if (!this.head) {
      const match = forcedHead.exec(this.pending);
      if (match === null) return parts;
      this.head = true;
      this.pending = this.pending.slice(match[0].length);
      parts.push({
        type: 'tool-call-delta',
        index: 0,
        id: newToolCallId(),
        name: match[1]!,
        arguments: '',
      });
    }
    // White space before the arguments (it may come after the head matched) is not theirs.
    if (!this.started) {
      this.pending = this.pending.trimStart();
      this.started = this.pending !== '';
    }
    // Held back: a last "}" with the white space around it, which may close the wrapper. (Not
    // a regular expression: one anchored at the end backtracks over every run of white space,
    // quadratic in a long one, which a string argument may hold.)
    const held = heldBack(this.pending);
    if (held > 0) {
      const piece = this.pending.slice(0, held);
      this.args += piece;
      parts.push({ type: 'tool-call-delta', index: 0, arguments: piece });
      this.pending = this.pending.slice(held);
    }
    return parts;
  }

  /**
   * The rest once the answer ended: the arguments' last piece (the held text, less the closing
   * brace when the answer is whole JSON; all of it when max_tokens cut the arguments), or, for an
   * answer cut before its arguments began, its text.
   */
  end(): StreamPart[] {
    if (!this.head) {
      // A whole call whose opening the pattern did not read (it cannot today: names are
      // letters, digits, _ and -, and the grammar writes `"name": "…",` plainly) is still a call.
      const whole = parsedCall(this.text);
      if (whole !== undefined) {
        this.head = true;
        this.args = whole.function.arguments;
        const { id, function: fn } = whole;
        return [{ type: 'tool-call-delta', index: 0, id, name: fn.name, arguments: fn.arguments }];
      }
      return this.pending === '' ? [] : [{ type: 'text-delta', text: this.pending }];
    }
    const rest = isJson(this.text) ? this.pending.replace(/\s*\}\s*$/, '') : this.pending;
    this.args += rest;
    return rest === '' ? [] : [{ type: 'tool-call-delta', index: 0, arguments: rest }];
  }
}

/** Where the held-back end of `text` begins: its trailing white space, a "}" and white space before it. */
export function heldBack(text: string): number {
  let end = text.trimEnd().length;
  if (text[end - 1] === '}') end = text.slice(0, end - 1).trimEnd().length;
  return end;
}

/** A whole forced answer read as JSON: its call, or undefined. */
function parsedCall(text: string): ToolCall | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || typeof value.name !== 'string') return undefined;
  return toolCall(value.name, value.arguments);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A call as the API returns it; arguments as JSON text (`{}` for none). */
export function toolCall(name: string, args: unknown): ToolCall {
  return {
    id: newToolCallId(),
    type: 'function',
    function: { name, arguments: JSON.stringify(args ?? {}) },
  };
}

/**
 * The end of an answer after its text: the calls node-llama-cpp finished ("auto"), then the
 * finish, "tool_calls" when there are calls (or the forced call went out), unless max_tokens cut
 * the answer.
 */
export function* answerEnd(
  outcome: { finishReason: FinishReason; usage: Usage; toolCalls: ToolCall[] },
  forced: { called: boolean; whole: boolean } | undefined,
): Generator<StreamPart> {
  const calls = outcome.toolCalls;
  for (const [index, { id, function: fn }] of calls.entries()) {
    yield { type: 'tool-call-delta', index, id, name: fn.name, arguments: fn.arguments };
  }
  let finishReason = outcome.finishReason;
  if (forced?.called === true) {
    // Cut by max_tokens after its arguments were whole (before the brace around them): whole.
    finishReason = forced.whole ? 'tool_calls' : finishReason;
  } else if (calls.length > 0) {
    // A parallel call after these, cut by max_tokens, was dropped unfinished: "length" stays.
    if (finishReason !== 'length') finishReason = 'tool_calls';
  } else if (finishReason === 'tool_calls') finishReason = 'stop';
  yield { type: 'finish', finishReason, usage: outcome.usage };
}
