// What the fuzzer sends: fast-check arbitraries for hostile HTTP input. Bodies start from a valid
// request for the endpoint and are mutated (so validators deep inside are reached), or are raw
// bytes: invalid UTF-8, deep nesting, duplicate keys, truncated JSON, oversized fields and bodies.
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Numbers JSON can carry that break naive code: huge, tiny, negative zero, unsafe integers. */
const hostileNumber = fc.constantFrom(
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
);

/** Strings: empty, control characters, unicode, lone-surrogate escapes, long, path tricks. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff',
    '../../etc/passwd',
    '%2e%2e%2f',
    '<script>alert(1)</script>',
    '${jndi:ldap://x}',
    '__proto__',
    'constructor',
    '*',
    '?',
    '/v1/*',
    'admin@example.com',
    'group:admin',
    'NaN',
    'Infinity',
    '1e999',
    '你好',
    '🧪'.repeat(50),
  ),
  fc.integer({ min: 1000, max: 300_000 }).map((length) => 'x'.repeat(length)),
);

/** Every JSON type, nested a little. */
export const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    hostileString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constant('__proto__')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** A path into a JSON value: object keys and array indexes. */
type Step = string | number;

function paths(value: Json, prefix: Step[] = [], out: Step[][] = []): Step[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => paths(item, [...prefix, index], out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  }
  return out;
}

function setAt(value: Json, path: Step[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (replacement === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = setAt(copy[head as number] ?? null, rest, replacement);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: { [key: string]: Json } = { ...value };
    if (replacement === undefined && rest.length === 0) delete copy[head as string];
    else copy[head as string] = setAt(copy[head as string] ?? null, rest, replacement);
    return copy;
  }
  return value;
}

/** One change to a valid body: replace a value, delete a member, or add an unknown one. */
function mutation(valid: Json): fc.Arbitrary<Json> {
  const where = paths(valid);
  const members = where.filter((path) => path.length > 0);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...where), anyJson).map(([path, value]) => setAt(valid, path, value)),
    members.length === 0
      ? fc.constant(valid)
      : fc.constantFrom(...members).map((path) => setAt(valid, path, undefined)),
    fc
      .tuple(fc.constantFrom(...where), fc.string({ maxLength: 12 }), anyJson)
      .map(([path, key, value]) => setAt(valid, [...path, key], value)),
  );
}

/** Two mutations in a row reach combinations (a bad type beside a missing field). */
export function mutatedBody(valid: Json): fc.Arbitrary<Json> {
  return mutation(valid).chain((once) => fc.oneof(fc.constant(once), mutation(once)));
}

/** Raw request bodies that are not a JSON rendering of a value. */
export function rawBody(valid: Json): fc.Arbitrary<Buffer> {
  const text = JSON.stringify(valid);
  return fc.oneof(
    // Invalid UTF-8 spliced into valid JSON, and random bytes.
    fc
      .tuple(
        fc.nat({ max: text.length }),
        fc.constantFrom([0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82]),
      )
      .map(([at, bytes]) =>
        Buffer.concat([
          Buffer.from(text.slice(0, at)),
          Buffer.from(bytes),
          Buffer.from(text.slice(at)),
        ]),
      ),
    fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
    // Truncated.
    fc.nat({ max: Math.max(0, text.length - 1) }).map((at) => Buffer.from(text.slice(0, at))),
    // Deep nesting, inside the body and as the whole body.
    fc
      .integer({ min: 1000, max: 200_000 })
      .map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
    fc
      .integer({ min: 100, max: 50_000 })
      .map((depth) =>
        Buffer.from(text.replace(/^\{/, `{"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},`)),
      ),
    // Duplicate keys: the first and the last occurrence disagree.
    fc.constant(Buffer.from(text.replace(/^\{/, '{"messages":7,'))),
    fc.constant(Buffer.from(text.replace(/\}$/, ',"principal":{"__proto__":{"admin":true}}}'))),
    // Numbers JSON.parse turns into Infinity, and a body over the size limit.
    fc.constant(Buffer.from(text.replace(/^\{/, '{"temperature":1e999,'))),
    fc.constant(Buffer.from(`{"messages":[{"role":"user","content":"${'a'.repeat(1_100_000)}"}]}`)),
    fc.constantFrom(
      Buffer.from(''),
      Buffer.from(' '),
      Buffer.from('null'),
      Buffer.from('[]'),
      Buffer.from('"x"'),
      Buffer.from('1'),
    ),
  );
}

export const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '*/*',
  'application/json; charset=',
  undefined,
);

/** A query string: known names with hostile values, unknown names, repeats, bad escapes. */
export function queryString(names: readonly string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom(
      '',
      '0',
      '-1',
      '1',
      '50',
      '1e3',
      '99999999999999999999',
      'NaN',
      'true',
      'null',
      '%ZZ',
      '%00',
      '%F0%9F%A7%AA',
      '5m',
      '24h',
      'x'.repeat(5000),
    ),
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
  );
  const name = fc.oneof(
    fc.constantFrom(...names, 'unknown', '__proto__', 'limit[]'),
    fc.string({ maxLength: 6 }).map(encodeURIComponent),
  );
  return fc
    .array(fc.tuple(name, value), { maxLength: 4 })
    .map((pairs) =>
      pairs.length === 0 ? '' : `?${pairs.map(([key, item]) => `${key}=${item}`).join('&')}`,
    );
}

/** A value for a route parameter, percent-encoded as a client would, or raw tricks. */
export const pathParam = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '%2e%2e',
    '%2F',
    'a%2Fb',
    '%00',
    '%ZZ',
    'x'.repeat(5000),
    '%F0%9F%A7%AA',
    'conv_',
    '-',
    '*',
  ),
);
