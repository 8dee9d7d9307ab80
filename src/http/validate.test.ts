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
/** A PNG's 8-byte signature and the start of its first chunk. */
const pngBase64 = 'iVBORw0KGgoAAAANSUhEUg==';

function imageBody(url: string): unknown {
  return {
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ],
  };
}

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
      imageBody(`data:image/png;base64,${Buffer.from('hello, not a picture').toString('base64')}`),
      'invalid_request',
      'messages[0].content[1].image_url.url',
      'declares image/png, but its data is not a PNG image',
    ],
    [
      imageBody(`data:image/jpeg;base64,${pngBase64}`),
      'invalid_request',
      'messages[0].content[1].image_url.url',
      'not a JPEG image',
    ],
    [
      imageBody('data:image/webp;base64,UklGRiQAAABXQVZF'),
      'invalid_request',
      'messages[0].content[1].image_url.url',
      'not a WebP image',
    ],
    [
      imageBody('data:image/gif,GIF88a'),
      'invalid_request',
      'messages[0].content[1].image_url.url',
      'not a GIF image',
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
            {
              type: 'image_url',
              image_url: { url: `data:image/png;base64,${pngBase64}`, detail: 'low' },
            },
          ],
        },
      ],
      stop: 'END',
    });
    expect(body.messages[0]!.content).toHaveLength(2);
    expect(body.stop).toBe('END');
  });

  it('accepts data URLs whose bytes are the image type they declare, and leaves links alone', () => {
    const base64 = (bytes: string | number[]) =>
      (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).toString(
        'base64',
      );
    for (const url of [
      `data:image/png;base64,${pngBase64}`,
      `data:IMAGE/PNG;name=a.png;base64,${pngBase64}`,
      `data:image/jpeg;base64,${base64([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])}`,
      `data:image/gif;base64,${base64('GIF87a\x01\x00')}`,
      `data:image/gif;base64,${base64('GIF89a\x01\x00')}`,
      `data:image/webp;base64,${base64('RIFF\x24\x00\x00\x00WEBPVP8 ')}`,
      'data:image/png,%89PNG%0D%0A%1A%0A',
      'https://example.com/fake.png',
    ]) {
      expect(() => parseBody(chatBodySchema, imageBody(url)), url).not.toThrow();
    }
  });
});
