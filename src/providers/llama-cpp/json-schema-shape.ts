import type { Json } from './json-schema-choices.js';

// A schema without a "type" (json-schema-subset.ts). node-llama-cpp writes `null` for such a
// node, and its own check of an "auto" call's parameters fails on it ("Unknown immutable type
// undefined"), yet tool definitions often give a property only a description, or leave the
// type out beside "properties". So the type the keywords imply is written out, and a node that
// implies none takes any JSON value, as JSON Schema means it.

const implying: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['object', ['properties', 'additionalProperties', 'required']],
  ['array', ['items', 'prefixItems', 'minItems', 'maxItems']],
  ['string', ['minLength', 'maxLength', 'format']],
];

/** The keywords that imply a node of `type` when it gives none. */
export function impliedBy(type: 'object' | 'array' | 'string'): readonly string[] {
  return implying.find(([implied]) => implied === type)![1];
}

/** Keywords that give a node its shape already (the request's `anyOf` is read as `oneOf`). */
export const shapingKeywords: readonly string[] = [
  'type',
  'oneOf',
  'anyOf',
  '$ref',
  'const',
  'enum',
];

/** Any JSON value, as node-llama-cpp's grammar and check both read it. */
export function anyJson(): Json {
  return {
    oneOf: [
      { type: ['string', 'number', 'boolean', 'null'] },
      { type: 'object', additionalProperties: true },
      { type: 'array' },
    ],
  };
}

/**
 * The converted node with its implied type written out, or any JSON for a node that implies
 * none; a refusal when its keywords belong to more than one type.
 */
export function withImpliedType(
  node: Json,
  path: string,
  refused: (param: string, message: string) => Error,
): Json {
  if (shapingKeywords.some((keyword) => keyword in node)) return node;
  const types = implying.filter(([, keywords]) => keywords.some((keyword) => keyword in node));
  if (types.length > 1) {
    throw refused(
      path,
      `has no "type" and keywords of ${types.map(([type]) => type).join(' and ')} schemas; give its "type"`,
    );
  }
  if (types.length === 1) return { type: types[0]![0], ...node };
  return { ...anyJson(), ...node };
}
