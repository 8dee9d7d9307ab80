import type { GbnfJsonSchema } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import {
  checkChoices,
  checkLeftRecursion,
  isObject,
  writtenAsAnyOf,
  type Json,
} from './json-schema-choices.js';
import { anyJson, withImpliedType } from './json-schema-shape.js';

// What of JSON Schema the local engine's grammars can hold (json-output.ts turns the result into
// a llama.cpp grammar): a schema is checked and rewritten here, or refused with a 400 naming the
// first field it cannot enforce. (Types only from node-llama-cpp.)

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

/**
 * Lengths and item counts one schema may add up to: llama.cpp writes a bounded repetition out
 * rule by rule, so 999 strings of maxLength 500 made half a million rules (0.3 s of blocked
 * event loop a request, cached or not).
 */
export const maxGrammarRepeats = 5000;

/**
 * Whether a text holds what a grammar cannot write: a control character (node-llama-cpp writes
 * them raw: invalid JSON) or a lone surrogate (no UTF-8 encodes it: the answer held U+FFFD).
 */
function hasControl(text: string): boolean {
  if (Buffer.from(text, 'utf8').toString('utf8') !== text) return true; // a lone surrogate
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) < 0x20) return true;
  return false;
}

/** Where the schema sits in the request, for the 400's `param`. */
export const schemaParam = 'response_format.json_schema.schema';

/**
 * The schema as node-llama-cpp takes it (`anyOf` renamed `oneOf`); a 400 naming the first
 * keyword it cannot enforce or value it cannot take. The route bounded its depth
 * (completion-body.ts), so recursion is safe.
 */
export function grammarSchema(
  schema: Json,
  param: string = schemaParam,
  budget: GrammarBudget = grammarBudget(),
): GbnfJsonSchema {
  const defs = isObject(schema.$defs) ? schema.$defs : {};
  const converted = convert(schema, param, defs, budget);
  const convertedDefs = isObject(converted.$defs) ? converted.$defs : {};
  checkLeftRecursion(convertedDefs, param, refused);
  checkChoices(converted, param, convertedDefs, refused);
  return converted as GbnfJsonSchema;
}

/** What one grammar may still hold; schemas that end up in one grammar (tools) share one. */
export interface GrammarBudget {
  nodes: number;
  repeats: number;
  /**
   * Keywords the grammar cannot enforce are left out of it, and named in the node's
   * description, instead of refused: a tool without `strict: true`, whose schema OpenAI's API
   * does not enforce at all.
   */
  loose?: boolean;
}

export function grammarBudget(): GrammarBudget {
  return { nodes: maxGrammarSize, repeats: maxGrammarRepeats };
}

type Budget = GrammarBudget;

function convert(schema: unknown, path: string, defs: Json, budget: Budget): Json {
  // `true` is JSON Schema's "any value".
  if (schema === true) return anyJson();
  if (!isObject(schema)) throw refused(path, 'must be an object (or true)');
  spend(budget, 1, path);
  const out: Json = {};
  const dropped: Json = {};
  const nested = (value: unknown, at: string) => convert(value, at, defs, budget);
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}.${keyword}`;
    if (annotations.has(keyword)) {
      if (keyword === 'description') out.description = value;
      continue;
    }
    if (!enforced.has(keyword)) {
      if (budget.loose === true) {
        dropped[keyword] = value;
        continue;
      }
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
      budget.repeats -= value as number;
      if (budget.repeats < 0) {
        throw refused(
          at,
          `the schema's lengths and item counts add up to more than ${maxGrammarRepeats} (each is written out as grammar rules)`,
        );
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
        if (typeof value === 'string' && !formats.has(value) && budget.loose === true) {
          dropped.format = value;
          break;
        }
        if (typeof value !== 'string' || !formats.has(value)) {
          throw refused(at, 'the local engine enforces only "date-time", "time" and "date"');
        }
        out.format = value;
        break;
      case 'const':
        if (!isScalar(value) || hasControlCharacter(value)) {
          throw refused(
            at,
            'the local engine takes a string without control characters or lone surrogates, a number, a boolean or null',
          );
        }
        out.const = value;
        break;
      case 'enum':
        if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar)) {
          throw refused(at, 'must be a non-empty array of strings, numbers, booleans or nulls');
        }
        if (value.some(hasControlCharacter)) {
          throw refused(
            at,
            'the local engine cannot write control characters or lone surrogates in a constant',
          );
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
        if (keyword === 'anyOf' && 'oneOf' in schema) {
          throw refused(at, 'the local engine reads "oneOf" and "anyOf" alike: give one of them');
        }
        out[keyword === 'anyOf' ? 'oneOf' : keyword] = value.map((item, index) =>
          nested(item, `${at}[${index}]`),
        );
        break;
      case 'properties':
      case '$defs':
        if (!isObject(value)) throw refused(at, 'must be an object of schemas');
        for (const name of Object.keys(value)) {
          if (hasControl(name)) {
            throw refused(
              at,
              'the local engine cannot write control characters or lone surrogates in a name',
            );
          }
        }
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
  if (Object.keys(dropped).length > 0) {
    // Told to the model, which may still honour them; the grammar does not.
    const note = `Not enforced: ${JSON.stringify(dropped)}`;
    out.description = typeof out.description === 'string' ? `${out.description} (${note})` : note;
  }
  const result = alone(withImpliedType(out, path, refused), path);
  if ('anyOf' in schema) writtenAsAnyOf.add(result);
  return result;
}

/** Keywords that carry nothing the grammar reads beside a choice, a constant or a reference. */
const besideAnything = new Set(['description', '$defs']);

/**
 * node-llama-cpp reads `oneOf`, `$ref`, `const` and `enum` alone and ignores the node's other
 * keywords (`{type: object, required: [a], oneOf: …}` wrote objects without `a`): those are
 * refused, except a `type` that every constant already has (zod writes `type` beside `enum`),
 * which is dropped.
 */
function alone(schema: Json, path: string): Json {
  const lead = ['oneOf', '$ref', 'const', 'enum'].find((keyword) => keyword in schema);
  if (lead === undefined) {
    if (Array.isArray(schema.type)) {
      const ignored = ['minLength', 'maxLength', 'format'].find((keyword) => keyword in schema);
      if (ignored !== undefined) {
        throw refused(
          `${path}.${ignored}`,
          'the local engine applies it only with "type": "string"; write anyOf with one schema per type',
        );
      }
    }
    return schema;
  }
  const values =
    lead === 'const' ? [schema.const] : lead === 'enum' ? (schema.enum as unknown[]) : [];
  for (const keyword of Object.keys(schema)) {
    if (keyword === lead || besideAnything.has(keyword)) continue;
    if (keyword === 'type' && values.length > 0 && values.every((v) => typeHolds(schema.type, v))) {
      continue;
    }
    throw refused(
      `${path}.${keyword}`,
      `the local engine reads "${lead}" alone and would ignore "${keyword}" beside it`,
    );
  }
  const rest = { ...schema };
  delete rest.type;
  return rest;
}

/** Whether a constant is of the type (or one of the types) given. */
function typeHolds(type: unknown, value: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((name) => {
    if (name === 'null') return value === null;
    if (name === 'integer') return Number.isInteger(value);
    return typeof value === name;
  });
}

function hasControlCharacter(value: unknown): boolean {
  return typeof value === 'string' && hasControl(value);
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

function spend(budget: Budget, cost: number, path: string): void {
  budget.nodes -= cost;
  if (budget.nodes < 0) {
    throw refused(
      path,
      `the schema is too large for the local engine (at most ${maxGrammarSize} schemas and enum values)`,
    );
  }
}

export function refused(param: string, message: string): AppError {
  return new AppError('unsupported_parameter', `${param}: ${message}.`, { param });
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
