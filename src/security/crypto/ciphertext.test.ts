import { describe, expect, it } from 'vitest';
import {
  ciphertextFromText,
  ciphertextToText,
  isCiphertext,
  isCiphertextText,
  overhead,
  parseCiphertext,
  textPrefix,
} from './ciphertext.js';
import { DecryptionError } from './errors.js';

/** A syntactically valid v1 ciphertext (the crypto is not checked here). */
function sample(bodyLength = 5): Buffer {
  const blob = Buffer.alloc(overhead + bodyLength, 0x11);
  blob[0] = 0xae;
  blob[1] = 0x5d;
  blob[2] = 0x01;
  Buffer.from('0123456789abcdef', 'hex').copy(blob, 3);
  return blob;
}

describe('ciphertext format', () => {
  it('parses the header fields at fixed offsets', () => {
    const parsed = parseCiphertext(sample(5));
    expect(parsed.dataKeyId).toBe('0123456789abcdef');
    expect(parsed.header.length).toBe(11);
    expect(parsed.iv.length).toBe(12);
    expect(parsed.tag.length).toBe(16);
    expect(parsed.body.length).toBe(5);
  });

  it('tells ciphertext from legacy plaintext', () => {
    expect(isCiphertext(sample())).toBe(true);
    expect(isCiphertext(sample(0))).toBe(true);
    expect(isCiphertext(sample().subarray(0, overhead - 1))).toBe(false);
    // 0xAE is a UTF-8 continuation byte: no UTF-8 text, however long or odd, starts with it.
    for (const legacy of [
      'hello',
      '',
      '\u00ae\u005d',
      '®]\u0001' + 'x'.repeat(60),
      '🔒'.repeat(20),
    ]) {
      expect(isCiphertext(Buffer.from(legacy, 'utf8'))).toBe(false);
    }
  });

  it('has a text form that round-trips and is detected strictly', () => {
    const text = ciphertextToText(sample(3));
    expect(text.startsWith(`${textPrefix}rl0B`)).toBe(true);
    expect(isCiphertextText(text)).toBe(true);
    expect(ciphertextFromText(text)).toEqual(sample(3));
    for (const legacy of ['hello', 'aenc:', 'aenc:hello', `${text}!`, ` ${text}`, `${text}=`]) {
      expect(isCiphertextText(legacy)).toBe(false);
    }
    expect(() => ciphertextFromText('plain text')).toThrow(DecryptionError);
  });

  it('names what is wrong with a value it cannot parse', () => {
    const reason = (blob: Buffer) => {
      try {
        parseCiphertext(blob);
        return 'parsed';
      } catch (error) {
        return (error as DecryptionError).reason;
      }
    };
    expect(reason(Buffer.from('plain text'))).toBe('not-ciphertext');
    const future = sample();
    future[2] = 0x02;
    expect(reason(future)).toBe('unsupported-format');
    // Header plus a 4-byte tag: too short to hold the full 16-byte tag.
    expect(reason(sample().subarray(0, 11 + 12 + 4))).toBe('truncated');
  });
});
