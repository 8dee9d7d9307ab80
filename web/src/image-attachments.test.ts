import { describe, expect, it } from 'vitest';
import {
  contentBytes,
  contentParts,
  formatFileSize,
  imageFileProblem,
  isShownImageUrl,
  maxImageBytes,
  maxMessageBytes,
  messageSizeProblem,
  sniffImageType,
  withImageType,
} from './image-attachments';

/** A data URL as FileReader makes it for a file of `bytes` bytes. */
function dataUrlOf(bytes: number, type = 'image/png'): { dataUrl: string } {
  return { dataUrl: `data:${type};base64,${'A'.repeat(Math.ceil(bytes / 3) * 4)}` };
}

describe('image file checks', () => {
  it('takes PNG, JPEG, WebP and GIF up to 700 KB', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'image/gif']) {
      expect(imageFileProblem({ name: 'a', type, size: maxImageBytes })).toBeUndefined();
    }
    expect(maxImageBytes).toBe(700 * 1024);
  });

  it('refuses other types and larger files, naming the file, its size and the limit', () => {
    expect(imageFileProblem({ name: 'scan.bmp', type: 'image/bmp', size: 10 })).toBe(
      'scan.bmp is not a PNG, JPEG, WebP or GIF image.',
    );
    expect(imageFileProblem({ name: 'x.svg', type: 'image/svg+xml', size: 10 })).toMatch(/not a/);
    expect(
      imageFileProblem({ name: 'photo.jpg', type: 'image/jpeg', size: 1.5 * 1024 * 1024 }),
    ).toBe(
      'photo.jpg is 1.5 MB: images can be at most 700 KB each, so that the message fits the server’s 1 MB limit.',
    );
    expect(
      imageFileProblem({ name: 'p.png', type: 'image/png', size: maxImageBytes + 1 }),
    ).toContain('701 KB');
  });

  it('tells the image type from the leading bytes, not the name', () => {
    const bytes = (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0));
    expect(sniffImageType(bytes('\x89PNG\r\n\x1a\n\0\0\0\rIHDR'))).toBe('image/png');
    expect(sniffImageType(bytes('\xff\xd8\xff\xe0'))).toBe('image/jpeg');
    expect(sniffImageType(bytes('GIF87a'))).toBe('image/gif');
    expect(sniffImageType(bytes('GIF89a'))).toBe('image/gif');
    expect(sniffImageType(bytes('RIFF\x24\0\0\0WEBP'))).toBe('image/webp');
    expect(sniffImageType(bytes('RIFF\x24\0\0\0WAVE'))).toBeUndefined();
    expect(sniffImageType(bytes('hello, not a picture'))).toBeUndefined();
    expect(sniffImageType(bytes('\x89PNG'))).toBeUndefined();
    expect(withImageType('data:image/png;base64,/9j/', 'image/jpeg')).toBe(
      'data:image/jpeg;base64,/9j/',
    );
  });

  it('writes sizes in B, KB and MB', () => {
    expect(formatFileSize(812)).toBe('812 B');
    expect(formatFileSize(700 * 1024)).toBe('700 KB');
    expect(formatFileSize(1024 * 1024 * 1.25)).toBe('1.3 MB');
  });
});

describe('the message as sent', () => {
  it('is the text alone without images, else a text part then one image_url part each', () => {
    expect(contentParts('hello', [])).toBe('hello');
    expect(contentParts('what is this?', [{ dataUrl: 'data:image/png;base64,AAAA' }])).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
    ]);
    expect(
      contentParts('', [
        { dataUrl: 'data:image/png;base64,AAAA' },
        { dataUrl: 'data:image/gif;base64,BBBB' },
      ]),
    ).toEqual([
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      { type: 'image_url', image_url: { url: 'data:image/gif;base64,BBBB' } },
    ]);
  });

  it('counts the bytes of the JSON, in UTF-8', () => {
    expect(contentBytes('hé')).toBe(JSON.stringify('hé').length + 1);
  });

  it('fits one image of the largest size with some text, within the 1 MiB body', () => {
    const largest = dataUrlOf(maxImageBytes);
    expect(messageSizeProblem('describe this picture', [largest])).toBeUndefined();
    const body = JSON.stringify({
      messages: [{ role: 'user', content: contentParts('x'.repeat(20_000), [largest]) }],
      stream: true,
      conversation_id: 'conv_0123456789abcdef0123456789',
      model: 'a-model-with-a-rather-long-name-for-its-size',
      temperature: 0.7,
    });
    expect(messageSizeProblem('x'.repeat(20_000), [largest])).toBeUndefined();
    expect(new TextEncoder().encode(body).length).toBeLessThan(1024 * 1024);
    expect(maxMessageBytes).toBeLessThan(1024 * 1024);
  });

  it('refuses images that only fit one at a time, saying what to do', () => {
    const two = [dataUrlOf(400 * 1024), dataUrlOf(400 * 1024)];
    expect(messageSizeProblem('', two)).toMatch(
      /^The message is 1\.0 MB with its images, more than the 960 KB the server takes .*Remove an image or attach smaller ones\.$/,
    );
    expect(messageSizeProblem('', [dataUrlOf(400 * 1024)])).toBeUndefined();
    // Text alone is never refused here: the server's own limits apply to it.
    expect(messageSizeProblem('x'.repeat(2_000_000), [])).toBeUndefined();
  });

  it('shows only base64 PNG, JPEG, WebP and GIF data URLs as images', () => {
    expect(isShownImageUrl('data:image/png;base64,AAAA')).toBe(true);
    expect(isShownImageUrl('DATA:IMAGE/JPEG;BASE64,AAAA')).toBe(true);
    expect(isShownImageUrl('data:image/svg+xml;base64,AAAA')).toBe(false);
    expect(isShownImageUrl('https://example.com/a.png')).toBe(false);
  });
});
