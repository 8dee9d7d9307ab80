import type { ChatHistoryItem, ChatModelFunctions, GbnfJsonSchema } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import { newToolCallId } from '../openai-compatible/tool-call-stream.js';
import type {
  ChatRequest,
  FinishReason,
  StreamPart,
  ToolCall,
  ToolCallDelta,
  ToolDefinition,
  Usage,
} from '../types.js';
import { isObject, type Json } from './json-schema-choices.js';
import {
  grammarBudget,
  grammarSchema,
  maxGrammarSize,
  refused,
  type GrammarBudget,
} from './json-schema-subset.js';

// Function calling on the local engine. With `tool_choice` "auto" (the default) the functions go
// to node-llama-cpp: the model's chat template documents them in its own words, and a call the
// model begins in the template's syntax is finished under a grammar of its parameters. When the
// request demands a call ("required", or a named function), a grammar makes the answer one JSON
// object {"name", "arguments"}, whatever the weights would rather say, and a system message
// lists the functions. Parameter schemas take the subset JSON output takes (json-schema-subset.ts),
// within one grammar's budget (all tools together for "required"). (Types only from
// node-llama-cpp here.)

/** How the local engine answers a request with tools. */
export type ToolPlan =
  | { kind: 'none' }
  | { kind: 'auto'; functions: ChatModelFunctions; maxParallel: number | undefined }
  | { kind: 'forced'; schema: GbnfJsonSchema; instructions: string; param: string };

/** Checks the tools' schemas (a 400 naming the first it cannot enforce) and plans the answer. */
export function toolPlan(request: ChatRequest): ToolPlan {
  const tools = request.tools;
  const choice = request.toolChoice ?? 'auto';
  if (tools === undefined || tools.length === 0 || choice === 'none') return { kind: 'none' };
  // One grammar holds every tool only when any of them may be called ("required"); otherwise
  // a grammar holds one tool's parameters (the named one's, or those of the call the model
  // begins), and each tool has a grammar's budget of its own.
  const shared = choice === 'required' ? grammarBudget() : undefined;
  let checked = 0;
  const params = tools.map((tool, index) => {
    const budget = shared ?? grammarBudget();
    const before = budget.nodes;
    const schema = parameters(tool, index, budget);
    checked += before - budget.nodes;
    if (checked > maxToolSchemaNodes) {
      throw refused(
        `tools[${index}].function.parameters`,
        `the tools' schemas are too large for the local engine (at most ${maxToolSchemaNodes} schemas and enum values in all)`,
      );
    }
    return schema;
  });
  if (choice === 'auto') {
    if (request.responseFormat !== undefined) {
      throw new AppError(
        'unsupported_parameter',
        'The local engine cannot combine "response_format" with "tool_choice": "auto" (both ' +
          'would need the grammar); set "tool_choice" to "required", a function, or "none".',
        { param: 'response_format' },
      );
    }
    const functions: ChatModelFunctions = Object.fromEntries(
      tools.map((tool, index) => {
        const description = tool.function.description;
        return [
          tool.function.name,
          {
            ...(description === undefined ? {} : { description }),
            ...(params[index] === undefined ? {} : { params: params[index] }),
          },
        ];
      }),
    );
    return {
      kind: 'auto',
      functions,
      maxParallel: request.parallelToolCalls === false ? 1 : undefined,
    };
  }
  const chosen =
    choice === 'required'
      ? tools.map((_, index) => index)
      : [tools.findIndex((tool) => tool.function.name === choice.function.name)];
  const defs: Json = {};
  const calls = chosen.map((index) => {
    const schema = params[index] ?? noParameters;
    return {
      type: 'object',
      properties: {
        name: { const: tools[index]!.function.name },
        // Each tool's $defs move to the root under its own prefix, so two tools' names never meet.
        arguments: hoistDefs(schema as Json, `tool${index}_`, defs),
      },
    };
  });
  // The choices all begin with {"name": but part within the name (names are unique), so the
  // grammar sampler follows several only that far (json-schema-choices.ts).
  const root: Json = calls.length === 1 ? calls[0]! : { oneOf: calls };
  if (Object.keys(defs).length > 0) root.$defs = defs;
  return {
    kind: 'forced',
    schema: root as GbnfJsonSchema,
    instructions: instructionsFor(chosen.map((index) => tools[index]!)),
    param: chosen.length === 1 ? `tools[${chosen[0]}].function.parameters` : 'tools',
  };
}

/**
 * Schema nodes all of a request's tools may hold: each is checked on the event loop (about a
 * microsecond a node), and 128 tools of a grammar's budget each took 130 ms.
 */
export const maxToolSchemaNodes = 10 * maxGrammarSize;

/** A function without `parameters` takes none: its arguments are `{}`. */
const noParameters = { type: 'object', properties: {} };

function parameters(
  tool: ToolDefinition,
  index: number,
  budget: GrammarBudget,
): GbnfJsonSchema | undefined {
  const schema = tool.function.parameters;
  if (schema === undefined) return undefined;
  const param = `tools[${index}].function.parameters`;
  // Arguments are an object, as OpenAI requires: a schema of another type, or one whose keywords
  // say another shape, is refused; one that says no type (`{}`, or only `properties`) is an
  // object's (the grammar of `{}` would write any value).
  if (schema.type !== undefined && schema.type !== 'object') {
    throw refused(`${param}.type`, 'function parameters must be an object schema (type "object")');
  }
  if (schema.type === undefined) {
    // A reference to an object's definition (`{"$ref": "#/$defs/Args", "$defs": …}`) is one.
    if (refersToObject(schema)) return grammarSchema(schema, param, budget);
    const other = Object.keys(schema).find((key) => notObject.has(key));
    if (other !== undefined) {
      throw refused(
        `${param}.${other}`,
        'function parameters must be an object schema; give "type": "object" and its "properties"',
      );
    }
  }
  return grammarSchema({ ...schema, type: 'object' }, param, budget);
}

/** Whether a schema is only a reference to a definition of an object. */
function refersToObject(schema: Json): boolean {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/$defs/') || !isObject(schema.$defs)) {
    return false;
  }
  const target = schema.$defs[ref.slice('#/$defs/'.length)];
  return isObject(target) && target.type === 'object';
}

/** Keywords of a shape other than an object's, or of a choice between shapes. */
const notObject = new Set([
  '$ref',
  'oneOf',
  'anyOf',
  'const',
  'enum',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
]);

/** A copy of `schema` whose `$defs` are moved into `into` as `prefix` + name, refs rewritten. */
function hoistDefs(schema: Json, prefix: string, into: Json): Json {
  const rewrite = (value: unknown, root = false): unknown => {
    if (Array.isArray(value)) return value.map((item) => rewrite(item));
    if (!isObject(value)) return value;
    const out: Json = {};
    for (const [key, member] of Object.entries(value)) {
      // The root's definitions move; a property may be named "$defs" too.
      if (root && key === '$defs') continue;
      // A property may be named "__proto__": an own property, not the prototype.
      Object.defineProperty(out, key, {
        value:
          key === '$ref' && typeof member === 'string' && member.startsWith('#/$defs/')
            ? `#/$defs/${prefix}${member.slice('#/$defs/'.length)}`
            : rewrite(member),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  if (isObject(schema.$defs)) {
    for (const [name, def] of Object.entries(schema.$defs)) into[prefix + name] = rewrite(def);
  }
  return rewrite(schema, true) as Json;
}

function instructionsFor(tools: readonly ToolDefinition[]): string {
  const which =
    tools.length === 1 ? `the function "${tools[0]!.function.name}"` : 'one of these functions';
  const listed = tools.map(({ function: fn }) => {
    const description = fn.description === undefined ? '' : `: ${fn.description}`;
    return `- ${fn.name}${description}\n  parameters: ${JSON.stringify(fn.parameters ?? noParameters)}`;
  });
  return (
    `Call ${which}. Answer with only a JSON object {"name": <the function's name>, ` +
    `"arguments": <its arguments>}.\n\nFunctions:\n${listed.join('\n')}`
  );
}

/** The history with the forced call's instructions added to its system message (or as one). */
export function withInstructions(history: ChatHistoryItem[], instructions: string): void {
  const first = history[0];
  if (first?.type === 'system' && typeof first.text === 'string') {
    first.text = `${first.text}\n\n${instructions}`;
  } else {
    history.unshift({ type: 'system', text: instructions });
  }
}

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

/** node-llama-cpp's options for the functions of an "auto" plan; undefined for the others. */
export function functionOptions(plan: ToolPlan) {
  if (plan.kind !== 'auto') return undefined;
  return {
    functions: plan.functions,
    documentFunctionParams: true,
    ...(plan.maxParallel === undefined ? {} : { maxParallelFunctionCalls: plan.maxParallel }),
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

/**
 * node-llama-cpp checks the parameters of a call it finished (tool_choice "auto") against the
 * tool's schema, and throws its LlamaJsonSchemaValidationError (known by name: this module loads
 * nothing of node-llama-cpp) when they do not match. Its grammar held them to the schema, but the
 * check counts a string's length in UTF-16 units where the grammar (and JSON Schema) counts code
 * points, so a string with characters beyond U+FFFF near its maxLength fails it; so can bytes a
 * model writes that are not UTF-8. A 502 that says what failed, not a 500.
 */
export function badCallError(error: unknown): AppError | undefined {
  if (!(error instanceof Error) || error.constructor.name !== 'LlamaJsonSchemaValidationError') {
    return undefined;
  }
  return new AppError(
    'upstream_bad_response',
    `The local model's function call failed node-llama-cpp's check of the tool's parameters ` +
      `(${error.message}); its length check counts UTF-16 units, so characters beyond U+FFFF ` +
      'near a maxLength fail it.',
  );
}
