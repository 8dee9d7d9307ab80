import type {
  ChatHistoryItem,
  ChatModelFunctions,
  GbnfJsonSchema,
  LlamaGrammar,
} from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import type { ChatRequest, ToolDefinition } from '../types.js';
import { toHistory } from './chat-mapping.js';
import type { JsonGrammars } from './json-output.js';
import { isObject, type Json } from './json-schema-choices.js';
import { impliedBy, shapingKeywords } from './json-schema-shape.js';
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
    // A tool without `strict: true`: OpenAI's API enforces none of its schema; what the grammar
    // can enforce is, the rest is told to the model (json-schema-subset.ts).
    budget.loose = tool.function.strict !== true;
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
  ...shapingKeywords.filter((keyword) => keyword !== 'type'),
  ...impliedBy('array'),
  ...impliedBy('string'),
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

/**
 * What a request is answered with: its tool plan, the chat history (with a forced call's
 * instructions) and the grammar that holds the answer (a forced call's, or `response_format`'s;
 * a promise only when there is one, so a request without waits no extra turn for its
 * sequence). Every 400 the request can earn comes from here, before a sequence is taken.
 */
export function preparedAnswer(
  request: ChatRequest,
  grammars: JsonGrammars,
): { plan: ToolPlan; history: ChatHistoryItem[]; grammar: Promise<LlamaGrammar> | undefined } {
  const plan = toolPlan(request);
  const history = toHistory(request.messages);
  if (plan.kind === 'forced') withInstructions(history, plan.instructions);
  const grammar =
    plan.kind === 'forced'
      ? grammars.grammarForSchema(plan.schema, plan.param)
      : request.responseFormat === undefined
        ? undefined
        : grammars.grammarFor(request.responseFormat);
  return { plan, history, grammar };
}
