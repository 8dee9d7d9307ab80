import { describe, expect, it } from 'vitest';
import { redact, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('hides keys, tokens, signatures and credentials, and keeps the rest', () => {
    expect(redactUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123')).toBe(
      'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***',
    );
    expect(
      redactUrl(
        'https://u:p@oapi.dingtalk.com/robot/send?access_token=t0k&timestamp=1&sign=a%2Bb%3D',
      ),
    ).toBe('https://***@oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***');
    expect(redactUrl(new URL('https://gw.example/send?Token=x&API_KEY=y&to=%2B86138'))).toBe(
      'https://gw.example/send?Token=***&API_KEY=***&to=%2B86138',
    );
    expect(redactUrl('https://hooks.example/plain')).toBe('https://hooks.example/plain');
    expect(redactUrl('not a url?key=secret')).toBe('(unparseable URL)');
  });
});

describe('redact', () => {
  it('hides each secret as given and percent-encoded; ignores ones too short to matter', () => {
    expect(redact('key a+b/c= or a%2Bb%2Fc%3D', ['a+b/c='])).toBe('key *** or ***');
    expect(redact('abc abc', ['abc'])).toBe('abc abc');
  });
});
