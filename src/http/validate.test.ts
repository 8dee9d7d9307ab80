import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { chatBodySchema } from './schemas.js';
import { parseBody } from './validate.js';

function errorOf(body: unknown): AppError {
  try {
    parseBody(chatBodySchema, body);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the body to be rejected');
}

const user = { role: 'user', content: 'hi' };

describe('request body validation', () => {
  it.each([
    [undefined, 'invalid_request', undefined, 'needs a JSON body'],
    [[user], 'invalid_request', undefined, 'must be a JSON object'],
    [{}, 'invalid_request', 'messages', 'messages: is required'],
    [{ messages: [] }, 'invalid_request', 'messages', 'at least one message'],
    [{ messages: [user], foo: 1 }, 'invalid_request', 'foo', 'Unknown field "foo"'],
    [
      { messages: [{ ...user, name: 'x' }] },
      'invalid_request',
      'messages[0].name',
      'Unknown field "messages[0].name"',
    ],
    [{ messages: [user], temperature: 'hot' }, 'invalid_request', 'temperature', 'expected number'],
    [{ messages: [user], temperature: 2.5 }, 'invalid_request', 'temperature', '<=2'],
    [{ messages: [user], max_tokens: 1.5 }, 'invalid_request', 'max_tokens', 'expected int'],
    [
      { messages: [{ role: 'bot', content: 'x' }] },
      'invalid_request',
      'messages[0].role',
      'expected one of',
    ],
    [
      { messages: [{ role: 'user', content: 5 }] },
      'invalid_request',
      'messages[0].content',
      'string or a non-empty array',
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
      'unsupported_content',
      'messages[0].content[0].type',
      '"input_audio" is not supported',
    ],
    [
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }],
          },
        ],
      },
      'invalid_request',
      'messages[0].content[0].image_url.url',
      'http(s) URL',
    ],
    [
      { messages: [user], stop: ['a', 'b', 'c', 'd', 'e'] },
      'invalid_request',
      'stop',
      'up to 4 strings',
    ],
  ])('rejects %j with %s', (body, code, param, message) => {
    const error = errorOf(body);
    expect(error.code).toBe(code);
    expect(error.param).toBe(param);
    expect(error.message).toContain(message);
    expect(error.status).toBeLessThan(500);
  });

  it('accepts text and image parts', () => {
    const body = parseBody(chatBodySchema, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
        },
      ],
      stop: 'END',
    });
    expect(body.messages[0]!.content).toHaveLength(2);
    expect(body.stop).toBe('END');
  });
});
