import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import type { ResponseFormat } from '../types.js';

// JSON output for local models: `response_format` becomes a llama.cpp grammar, so every token
// sampled keeps the answer inside JSON (any object for `json_object`, the schema for
// `json_schema`), whatever the weights would rather say. (Types only from node-llama-cpp here.)

/**
 * The JSON Schema keywords node-llama-cpp's grammar enforces (utils/gbnfJson/types.d.ts of
 * 3.21.1), `anyOf` read as `oneOf` (a grammar can only say "one of these"), and annotations that
 * constrain nothing. Any other keyword (`pattern`, `minimum`, `not`, …) would be silently
 * ignored by the grammar: such a schema is refused instead of half enforced.
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
  'minProperties',
  'maxProperties',
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

type Json = Record<string, unknown>;

/** Where the schema sits in the request, for the 400's `param`. */
const schemaParam = 'response_format.json_schema.schema';

/**
 * The schema as node-llama-cpp takes it (`anyOf` renamed `oneOf`); a 400 naming the first
 * keyword it cannot enforce. The route bounded its depth (completion-body.ts), so recursion is
 * safe.
 */
export function grammarSchema(schema: Json): GbnfJsonSchema {
  const defs = isObject(schema.$defs) ? schema.$defs : {};
  return convert(schema, schemaParam, defs) as GbnfJsonSchema;
}

function convert(schema: unknown, path: string, defs: Json): Json {
  if (!isObject(schema)) throw refused(path, 'must be an object');
  const out: Json = {};
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}.${keyword}`;
    if (annotations.has(keyword)) {
      if (keyword === 'description') out.description = value;
      continue;
    }
    if (!enforced.has(keyword)) {
      throw refused(at, `the local engine cannot enforce "${keyword}"`);
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
      case '$ref':
        if (
          typeof value !== 'string' ||
          !value.startsWith('#/$defs/') ||
          !(value.slice('#/$defs/'.length) in defs)
        ) {
          throw refused(at, 'must be "#/$defs/NAME" for a NAME in the top-level "$defs"');
        }
        out.$ref = value;
        break;
      case 'oneOf':
      case 'anyOf':
      case 'prefixItems':
        if (!Array.isArray(value) || value.length === 0) {
          throw refused(at, 'must be a non-empty array of schemas');
        }
        out[keyword === 'anyOf' ? 'oneOf' : keyword] = value.map((item, index) =>
          convert(item, `${at}[${index}]`, defs),
        );
        break;
      case 'properties':
      case '$defs':
        if (!isObject(value)) throw refused(at, 'must be an object of schemas');
        out[keyword] = Object.fromEntries(
          Object.entries(value).map(([name, item]) => [name, convert(item, `${at}.${name}`, defs)]),
        );
        break;
      case 'items':
        out.items = convert(value, at, defs);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : convert(value, at, defs);
        break;
      default:
        // const, enum, required and the numeric bounds: passed on as given.
        out[keyword] = value;
    }
  }
  return out;
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

function refused(param: string, message: string): AppError {
  return new AppError('unsupported_parameter', `${param}: ${message}.`, { param });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
      grammar = this.llama.createGrammarForJsonSchema(schema as Readonly<{ type: 'object' }>);
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
