// The rule on `oneOf` for local JSON output (json-schema-subset.ts): its choices must begin
// differently, so llama.cpp's grammar sampler never follows two of them at once.

type Start = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';
const anyStart: readonly Start[] = ['string', 'number', 'boolean', 'null', 'object', 'array'];

/**
 * Every `oneOf` must choose by the first character of the value (a string, a number, a boolean,
 * null, an object or an array): llama.cpp's grammar sampler follows every choice that still
 * fits, so choices that begin alike, nested, multiply its work without bound (two array choices
 * 16 levels deep kept a core busy for six minutes, past the client's disconnect). A nullable
 * value, or a string-or-object, is fine; two object shapes are not.
 */
export function checkChoices(
  schema: unknown,
  path: string,
  defs: Json,
  refused: (param: string, message: string) => Error,
): void {
  if (!isObject(schema)) return;
  if (Array.isArray(schema.oneOf)) {
    // The request's own keyword, for the 400's `param`.
    const keyword = writtenAsAnyOf.has(schema) ? 'anyOf' : 'oneOf';
    const seen = new Set<Start>();
    for (const choice of schema.oneOf) {
      for (const start of starts(choice, defs, new Set())) {
        if (seen.has(start)) {
          throw refused(
            `${path}.${keyword}`,
            `two choices can both be ${article(start)}; the local engine takes choices that begin differently (string, number, boolean, null, object, array)`,
          );
        }
      }
      for (const start of starts(choice, defs, new Set())) seen.add(start);
    }
    schema.oneOf.forEach((choice, index) =>
      checkChoices(choice, `${path}.${keyword}[${index}]`, defs, refused),
    );
  }
  for (const keyword of ['properties', '$defs'] as const) {
    const members = schema[keyword];
    if (isObject(members)) {
      for (const [name, member] of Object.entries(members)) {
        checkChoices(member, `${path}.${keyword}.${name}`, defs, refused);
      }
    }
  }
  checkChoices(schema.items, `${path}.items`, defs, refused);
  checkChoices(schema.additionalProperties, `${path}.additionalProperties`, defs, refused);
  if (Array.isArray(schema.prefixItems)) {
    schema.prefixItems.forEach((item, index) =>
      checkChoices(item, `${path}.prefixItems[${index}]`, defs, refused),
    );
  }
}

/** How a value of the schema can begin; any when it cannot tell (a reference cycle). */
function starts(schema: unknown, defs: Json, following: Set<string>): readonly Start[] {
  if (!isObject(schema)) return anyStart;
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.slice('#/$defs/'.length);
    if (following.has(name)) return anyStart;
    following.add(name);
    return starts(defs[name], defs, following);
  }
  if (Array.isArray(schema.oneOf)) {
    return [...new Set(schema.oneOf.flatMap((choice) => starts(choice, defs, new Set(following))))];
  }
  const values =
    'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
  if (values !== undefined) return [...new Set(values.map(startOf))];
  if (schema.type === undefined) return anyStart;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return [...new Set(types.map((type) => (type === 'integer' ? 'number' : type) as Start))];
}

function startOf(value: unknown): Start {
  if (value === null) return 'null';
  return typeof value as 'string' | 'number' | 'boolean';
}

function article(start: Start): string {
  return start === 'null'
    ? 'null'
    : start === 'array' || start === 'object'
      ? `an ${start}`
      : `a ${start}`;
}

/**
 * A definition that reaches itself through `$ref` and `oneOf` alone, before a character is
 * written (`a: {$ref: b}, b: {$ref: a}`, or `a: {oneOf: [{$ref: a}, …]}`), is left recursion:
 * llama.cpp cannot build a grammar for it (and logs errors trying). Refused, naming the
 * definition where the loop closes. (Recursion through an object or array is fine: "{" or "["
 * comes first.)
 */
export function checkLeftRecursion(
  defs: Json,
  path: string,
  refused: (param: string, message: string) => Error,
): void {
  const leading = (schema: unknown, into: Set<string>): Set<string> => {
    if (!isObject(schema)) return into;
    if (typeof schema.$ref === 'string') into.add(schema.$ref.slice('#/$defs/'.length));
    if (Array.isArray(schema.oneOf)) for (const choice of schema.oneOf) leading(choice, into);
    return into;
  };
  const edges = new Map(Object.keys(defs).map((name) => [name, leading(defs[name], new Set())]));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'open') {
      throw refused(
        `${path}.$defs.${name}`,
        'refers back to itself before anything is written (left recursion); a grammar cannot hold that',
      );
    }
    state.set(name, 'open');
    for (const next of edges.get(name)!) if (edges.has(next)) visit(next);
    state.set(name, 'done');
  };
  for (const name of edges.keys()) visit(name);
}

export type Json = Record<string, unknown>;

/** Converted schemas whose `oneOf` the request wrote as `anyOf` (json-schema-subset.ts). */
export const writtenAsAnyOf = new WeakSet<Json>();

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
