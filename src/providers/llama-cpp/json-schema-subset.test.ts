import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { grammarSchema } from './json-schema-subset.js';

const at = 'response_format.json_schema.schema';

function refusal(schema: Record<string, unknown>): { param: string; message: string } {
  try {
    grammarSchema(schema);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { param: error.param!, message: error.message };
  }
  throw new Error('expected a refusal');
}

describe('JSON Schemas as local-engine grammars', () => {
  it('drops a type every constant of an enum already has (as zod writes it), and takes a nullable choice', () => {
    expect(grammarSchema({ type: 'string', enum: ['a', 'b'] })).toEqual({ enum: ['a', 'b'] });
    expect(
      grammarSchema({ anyOf: [{ type: 'object', properties: {} }, { type: 'null' }] }),
    ).toEqual({ oneOf: [{ type: 'object', properties: {} }, { type: 'null' }] });
  });

  it('writes out the type a node without one implies, and reads one that implies none as any value', () => {
    const any = {
      oneOf: [
        { type: ['string', 'number', 'boolean', 'null'] },
        { type: 'object', additionalProperties: true },
        { type: 'array' },
      ],
    };
    expect(
      grammarSchema({
        type: 'object',
        properties: {
          note: { description: 'free' },
          box: { properties: { k: { type: 'integer' } } },
          list: { items: { type: 'string' }, maxItems: 2 },
          code: { maxLength: 3 },
          yes: true,
        },
      }),
    ).toEqual({
      type: 'object',
      properties: {
        note: { ...any, description: 'free' },
        box: { type: 'object', properties: { k: { type: 'integer' } } },
        list: { type: 'array', items: { type: 'string' }, maxItems: 2 },
        code: { type: 'string', maxLength: 3 },
        yes: any,
      },
    });
    expect(refusal({ properties: {}, items: {} })).toEqual({
      param: at,
      message: `${at}: has no "type" and keywords of object and array schemas; give its "type".`,
    });
  });

  it('takes a definition that recurses through an object or array (a character comes first)', () => {
    const list = {
      $ref: '#/$defs/node',
      $defs: {
        node: {
          type: 'object',
          properties: {
            next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] },
            kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 },
          },
        },
      },
    };
    expect(() => grammarSchema(list)).not.toThrow();
  });

  it('passes what the grammar enforces, reads anyOf as oneOf and drops annotations but descriptions', () => {
    expect(
      grammarSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        title: 'T',
        type: 'object',
        description: 'a thing',
        properties: {
          when: { type: 'string', format: 'date' },
          tags: { type: 'array', items: { $ref: '#/$defs/tag' }, maxItems: 3 },
          either: { anyOf: [{ type: ['string', 'null'] }, { const: 1 }], default: 1 },
        },
        required: ['when'],
        additionalProperties: false,
        $defs: { tag: { enum: ['a', 'b'], examples: ['a'] } },
      }),
    ).toEqual({
      type: 'object',
      description: 'a thing',
      properties: {
        when: { type: 'string', format: 'date' },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' }, maxItems: 3 },
        either: { oneOf: [{ type: ['string', 'null'] }, { const: 1 }] },
      },
      required: ['when'],
      additionalProperties: false,
      $defs: { tag: { enum: ['a', 'b'] } },
    });
  });

  it.each([
    [{ type: 'integer', minimum: 0 }, `${at}.minimum`, 'cannot enforce "minimum"'],
    [
      { type: 'object', properties: { a: { not: { type: 'null' } } } },
      `${at}.properties.a.not`,
      'cannot enforce "not"',
    ],
    [{ type: 'string', format: 'email' }, `${at}.format`, '"date-time", "time" and "date"'],
    [{ type: 'uuid' }, `${at}.type`, 'must be one type'],
    [{ type: 'object', minProperties: 1 }, `${at}.minProperties`, 'cannot enforce "minProperties"'],
    [{ enum: [] }, `${at}.enum`, 'non-empty array'],
    [{ enum: 'abc' }, `${at}.enum`, 'non-empty array'],
    [{ enum: [{ k: 1 }] }, `${at}.enum`, 'non-empty array'],
    [{ const: [1, 2] }, `${at}.const`, 'a number, a boolean or null'],
    [{ const: 'x\u0001y' }, `${at}.const`, 'without control characters'],
    [{ enum: ['p\u0007q'] }, `${at}.enum`, 'control characters'],
    [{ enum: ['a\udfff'] }, `${at}.enum`, 'lone surrogates'],
    [{ type: 'object', properties: { '\ud800': {} } }, `${at}.properties`, 'lone surrogates'],
    [{ type: 'object', properties: { 'k\u0002': {} } }, `${at}.properties`, 'control characters'],
    [
      { oneOf: [{ type: 'array' }, { type: 'array', items: { type: 'null' } }] },
      `${at}.oneOf`,
      'two choices can both be an array',
    ],
    [
      {
        $ref: '#/$defs/a',
        $defs: { a: { anyOf: [{ type: 'object' }, { $ref: '#/$defs/b' }] }, b: { type: 'object' } },
      },
      `${at}.$defs.a.anyOf`,
      'two choices can both be an object',
    ],
    [
      { oneOf: [{ type: 'string' }], anyOf: [{ type: 'number' }] },
      `${at}.anyOf`,
      'give one of them',
    ],
    [
      { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } },
      `${at}.$defs.a`,
      'refers back to itself before anything is written (left recursion)',
    ],
    [
      { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } } },
      `${at}.$defs.a`,
      'left recursion',
    ],
    [
      {
        type: 'object',
        properties: { v: { $ref: '#/$defs/v' } },
        $defs: { v: { anyOf: [{ type: 'string' }, { $ref: '#/$defs/v' }] } },
      },
      `${at}.$defs.v`,
      'left recursion',
    ],
    [
      { type: 'object', required: [], oneOf: [{ type: 'object' }] },
      `${at}.type`,
      'reads "oneOf" alone',
    ],
    [{ type: 'string', enum: ['a', 1] }, `${at}.type`, 'reads "enum" alone'],
    [{ type: ['string', 'null'], maxLength: 3 }, `${at}.maxLength`, 'only with "type": "string"'],
    [
      {
        type: 'object',
        properties: Object.fromEntries(
          Array.from({ length: 11 }, (_, index) => [
            `p${index}`,
            { type: 'string', maxLength: 500 },
          ]),
        ),
      },
      `${at}.properties.p10.maxLength`,
      'add up to more than 5000',
    ],
    [{ type: 'string', maxLength: 1000 }, `${at}.maxLength`, 'from 0 to 500'],
    [{ type: 'string', minLength: 'abc' }, `${at}.minLength`, 'from 0 to 500'],
    [{ type: 'array', minItems: 3, maxItems: 2 }, `${at}.minItems`, 'is above "maxItems"'],
    [
      { type: 'array', prefixItems: [{ type: 'null' }, { type: 'null' }], maxItems: 1 },
      `${at}.maxItems`,
      'below the number of "prefixItems"',
    ],
    [
      { type: 'object', properties: { a: { type: 'boolean' } }, required: ['a', 'b'] },
      `${at}.required`,
      '"b" is not in "properties"',
    ],
    [{ type: 'object', required: 'a' }, `${at}.required`, 'array of property names'],
    [{ $ref: '#/$defs/toString' }, `${at}.$ref`, 'top-level "$defs"'],
    [
      { $ref: '#/$defs/a/b', $defs: { 'a/b': { type: 'null' } } },
      `${at}.$ref`,
      'top-level "$defs"',
    ],
    [
      { enum: Array.from({ length: 1000 }, (_, index) => index) },
      `${at}.enum`,
      'too large for the local engine',
    ],
    [{ type: ['object', 'null'] }, `${at}.type`, 'must be one type'],
    [{ $ref: '#/$defs/missing' }, `${at}.$ref`, 'top-level "$defs"'],
    [{ $ref: 'https://example.com/s.json' }, `${at}.$ref`, 'top-level "$defs"'],
    [{ oneOf: [] }, `${at}.oneOf`, 'non-empty array'],
    [
      { type: 'array', prefixItems: [{ type: 'string' }, 3] },
      `${at}.prefixItems[1]`,
      'must be an object',
    ],
    [
      { type: 'object', additionalProperties: { type: 'string', pattern: 'x' } },
      `${at}.additionalProperties.pattern`,
      'cannot enforce "pattern"',
    ],
  ])('refuses %j at %s', (schema, param, message) => {
    const refused = refusal(schema);
    expect(refused.param).toBe(param);
    expect(refused.message).toContain(message);
  });
});
