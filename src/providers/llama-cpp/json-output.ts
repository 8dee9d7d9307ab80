import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import type { ResponseFormat } from '../types.js';

// JSON output for local models: `response_format` becomes a llama.cpp grammar, so every token
// sampled keeps the answer inside JSON (any object for `json_object`, the schema for
// `json_schema`), whatever the weights would rather say. (Types only from node-llama-cpp here.)

/**
 * The JSON Schema keywords node-llama-cpp's grammar enforces (utils/gbnfJson of 3.21.1), `anyOf`
 * read as `oneOf` (a grammar can only say "one of these"), and annotations that constrain
 * nothing. Any other keyword would be ignored by the grammar, and `minProperties` /
 * `maxProperties` relaxed with a note on stderr: such a schema is refused instead of half
 * enforced.
 */
const enforced = new Set([
  'type',
  'const',
  'enum',
  'oneOf',
  'anyOf',
  '$ref',
  '$defs',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
]);
const annotations = new Set([
  'title',
  'description',
  '$schema',
  '$id',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
const scalarTypes = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const formats = new Set(['date-time', 'time', 'date']);
const counts = new Set(['minItems', 'maxItems', 'minLength', 'maxLength']);

/**
 * The largest length or item count a grammar repeats: llama.cpp refuses a repetition whose rules
 * times its count exceed 2,000 (a string's maxLength of 1,000 already does).
 */
export const maxGrammarCount = 500;

/**
 * Schema nodes plus enum values one schema may hold. Building a grammar runs on the event loop
 * and grows faster than its size: 1,000 values take about 10 ms, 120,000 took a minute.
 */
export const maxGrammarSize = 1000;

type Json = Record<string, unknown>;

/** Where the schema sits in the request, for the 400's `param`. */
const schemaParam = 'response_format.json_schema.schema';

/**
 * The schema as node-llama-cpp takes it (`anyOf` renamed `oneOf`); a 400 naming the first
 * keyword it cannot enforce or value it cannot take. The route bounded its depth
 * (completion-body.ts), so recursion is safe.
 */
export function grammarSchema(schema: Json): GbnfJsonSchema {
  const defs = isObject(schema.$defs) ? schema.$defs : {};
  const budget = { left: maxGrammarSize };
  return convert(schema, schemaParam, defs, budget) as GbnfJsonSchema;
}

function convert(schema: unknown, path: string, defs: Json, budget: { left: number }): Json {
  if (!isObject(schema)) throw refused(path, 'must be an object');
  spend(budget, 1, path);
  const out: Json = {};
  const nested = (value: unknown, at: string) => convert(value, at, defs, budget);
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}.${keyword}`;
    if (annotations.has(keyword)) {
      if (keyword === 'description') out.description = value;
      continue;
    }
    if (!enforced.has(keyword)) {
      throw refused(at, `the local engine cannot enforce "${keyword}"`);
    }
    if (counts.has(keyword)) {
      if (
        !Number.isInteger(value) ||
        (value as number) < 0 ||
        (value as number) > maxGrammarCount
      ) {
        throw refused(at, `the local engine enforces whole numbers from 0 to ${maxGrammarCount}`);
      }
      out[keyword] = value;
      continue;
    }
    switch (keyword) {
      case 'type':
        checkType(value, at);
        out.type = value;
        break;
      case 'format':
        if (typeof value !== 'string' || !formats.has(value)) {
          throw refused(at, 'the local engine enforces only "date-time", "time" and "date"');
        }
        out.format = value;
        break;
      case 'const':
        if (!isScalar(value))
          throw refused(at, 'the local engine takes a string, number, boolean or null');
        out.const = value;
        break;
      case 'enum':
        if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar)) {
          throw refused(at, 'must be a non-empty array of strings, numbers, booleans or nulls');
        }
        spend(budget, value.length, at);
        out.enum = value;
        break;
      case '$ref': {
        const name =
          typeof value === 'string' ? /^#\/\$defs\/([^/~]+)$/.exec(value)?.[1] : undefined;
        if (name === undefined || !Object.hasOwn(defs, name)) {
          throw refused(at, 'must be "#/$defs/NAME" for a NAME in the top-level "$defs"');
        }
        out.$ref = value;
        break;
      }
      case 'oneOf':
      case 'anyOf':
      case 'prefixItems':
        if (!Array.isArray(value) || value.length === 0) {
          throw refused(at, 'must be a non-empty array of schemas');
        }
        out[keyword === 'anyOf' ? 'oneOf' : keyword] = value.map((item, index) =>
          nested(item, `${at}[${index}]`),
        );
        break;
      case 'properties':
      case '$defs':
        if (!isObject(value)) throw refused(at, 'must be an object of schemas');
        out[keyword] = Object.fromEntries(
          Object.entries(value).map(([name, item]) => [name, nested(item, `${at}.${name}`)]),
        );
        break;
      case 'items':
        out.items = nested(value, at);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : nested(value, at);
        break;
      case 'required':
        out.required = requiredOf(value, schema.properties, at);
        break;
    }
  }
  checkBounds(out, path);
  return out;
}

/**
 * The grammar writes out every declared property, so `required` holds exactly when it names
 * declared ones; a name it cannot produce would pass the schema's check only by luck.
 */
function requiredOf(value: unknown, properties: unknown, path: string): string[] {
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
    throw refused(path, 'must be an array of property names');
  }
  const declared = isObject(properties) ? properties : {};
  const missing = value.find((name) => !Object.hasOwn(declared, name));
  if (missing !== undefined) {
    throw refused(path, `"${missing}" is not in "properties" (the local engine writes only those)`);
  }
  return value;
}

/** Lower bounds not above upper ones, and no more fixed items than `maxItems` allows. */
function checkBounds(schema: Json, path: string): void {
  const pairs = [
    ['minItems', 'maxItems'],
    ['minLength', 'maxLength'],
  ] as const;
  for (const [low, high] of pairs) {
    if (
      typeof schema[low] === 'number' &&
      typeof schema[high] === 'number' &&
      schema[low] > schema[high]
    ) {
      throw refused(`${path}.${low}`, `is above "${high}"`);
    }
  }
  if (
    Array.isArray(schema.prefixItems) &&
    typeof schema.maxItems === 'number' &&
    schema.prefixItems.length > schema.maxItems
  ) {
    throw refused(
      `${path}.maxItems`,
      'is below the number of "prefixItems" (the local engine writes them all)',
    );
  }
}

function checkType(value: unknown, path: string): void {
  if (
    typeof value === 'string' &&
    (scalarTypes.has(value) || value === 'object' || value === 'array')
  ) {
    return;
  }
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((t) => scalarTypes.has(t as string))
  ) {
    return;
  }
  throw refused(
    path,
    'must be one type, or a list of "string", "number", "integer", "boolean" and "null"',
  );
}

function spend(budget: { left: number }, cost: number, path: string): void {
  budget.left -= cost;
  if (budget.left < 0) {
    throw refused(
      path,
      `the schema is too large for the local engine (at most ${maxGrammarSize} schemas and enum values)`,
    );
  }
}

function refused(param: string, message: string): AppError {
  return new AppError('unsupported_parameter', `${param}: ${message}.`, { param });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Schema grammars kept, by schema text: an agent sends the same few schemas again and again. */
const maxCachedGrammars = 32;

/** The grammars of one llama.cpp instance, built once each. */
export class JsonGrammars {
  private json: Promise<LlamaGrammar> | undefined;
  private readonly schemas = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  /** Checks the format (a 400 for a schema it cannot enforce) and returns its grammar. */
  grammarFor(format: ResponseFormat): Promise<LlamaGrammar> {
    if (format.type === 'json_object' || format.json_schema.schema === undefined) {
      return (this.json ??= this.llama.getGrammarFor('json'));
    }
    const schema = grammarSchema(format.json_schema.schema);
    const key = JSON.stringify(schema);
    let grammar = this.schemas.get(key);
    if (grammar === undefined) {
      // The schema is checked above at run time; its literal type cannot be known statically.
      grammar = this.llama
        .createGrammarForJsonSchema(schema as Readonly<{ type: 'object' }>)
        .catch((error: unknown) => {
          // A schema within the checks above that llama.cpp still cannot turn into a grammar
          // (a $ref cycle with nothing to write, repetitions of rules too complex).
          throw new AppError(
            'unsupported_parameter',
            `${schemaParam}: llama.cpp cannot build a grammar for this schema ` +
              `(${(error as Error).message}); simplify it.`,
            { param: schemaParam },
          );
        });
      const made = grammar;
      made.catch(() => {
        if (this.schemas.get(key) === made) this.schemas.delete(key);
      });
      if (this.schemas.size >= maxCachedGrammars) {
        this.schemas.delete(this.schemas.keys().next().value!);
      }
      this.schemas.set(key, grammar);
    } else {
      // Most recently used last: the first key is the one to drop.
      this.schemas.delete(key);
      this.schemas.set(key, grammar);
    }
    return grammar;
  }
}
