/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values the audit log hashes and signs:
 * null, booleans, finite numbers, strings, arrays and plain objects.
 *
 * - object members sorted by their names as UTF-16 code units (JavaScript's default string
 *   order), no whitespace;
 * - numbers as ECMAScript `Number.prototype.toString` writes them (`JSON.stringify` does the
 *   same for finite numbers; `-0` becomes `0`);
 * - strings escaped as `JSON.stringify` escapes them (ECMAScript `QuoteJSONString`, which RFC 8785
 *   adopts).
 *
 * Anything else (undefined, NaN, ±Infinity, bigint, functions, class instances, lone
 * surrogates, which I-JSON forbids) throws instead of being dropped or changed silently, so two
 * different values can never share a canonical form.
 */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

/** Thrown for a value that has no canonical JSON form. */
export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

/** The canonical JSON text of `value`. */
export function canonicalJson(value: CanonicalValue): string {
  return write(value, '$');
}

/** Matches a lone surrogate (with the `u` flag a well-formed pair is one code point). */
export const loneSurrogate = /\p{Surrogate}/u;
/** Printable ASCII without `"` and `\`: written as is, the common case (ids, actions, paths). */
const plainAscii = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} is not JSON`);
      return JSON.stringify(value);
    case 'string':
      if (plainAscii.test(value)) return `"${value}"`;
      // With the `u` flag a well-formed pair is one code point, so this finds only lone halves.
      if (loneSurrogate.test(value)) {
        throw new CanonicalJsonError(`${path}: a string holds a lone surrogate`);
      }
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? writeArray(value, path) : writeObject(value, path);
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} is not JSON`);
  }
}

function writeArray(items: readonly unknown[], path: string): string {
  let text = '[';
  for (let index = 0; index < items.length; index++) {
    if (index > 0) text += ',';
    text += write(items[index], `${path}[${index}]`);
  }
  return `${text}]`;
}

function writeObject(object: object, path: string): string {
  const prototype = Object.getPrototypeOf(object) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new CanonicalJsonError(`${path}: only plain objects have a canonical form`);
  }
  const record = object as Record<string, unknown>;
  // Array.prototype.sort without a comparator compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
  const keys = Object.keys(record).sort();
  let text = '{';
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (index > 0) text += ',';
    text += `${write(key, path)}:${write(record[key], `${path}.${key}`)}`;
  }
  return `${text}}`;
}
