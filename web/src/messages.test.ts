import { describe, expect, it } from 'vitest';
import type { StoredMessage } from './api/types';
import { contentView, viewsOf } from './messages';

const png = 'data:image/png;base64,iVBORw0KGgo=';

describe('message views', () => {
  it('shows a stored image as a numbered thumbnail, and the text parts as the text', () => {
    const stored: StoredMessage[] = [
      { id: 'm0', role: 'system', content: 'Be brief.', created_at: 1, incomplete: false },
      {
        id: 'm1',
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: png } },
        ],
        created_at: 1,
        incomplete: false,
      },
      { id: 'm2', role: 'assistant', content: 'A pixel.', created_at: 2, incomplete: false },
    ];
    expect(viewsOf(stored)).toEqual([
      {
        key: 'm1',
        role: 'user',
        content: 'what is this?',
        images: [{ src: png, label: 'Image 1' }],
        state: 'done',
        note: undefined,
      },
      {
        key: 'm2',
        role: 'assistant',
        content: 'A pixel.',
        images: undefined,
        state: 'done',
        note: undefined,
      },
    ]);
  });

  it('labels images just sent with their file names', () => {
    expect(
      contentView(
        [
          { type: 'text', text: 'compare' },
          { type: 'image_url', image_url: { url: png } },
          { type: 'image_url', image_url: { url: png } },
        ],
        ['left.png', 'right.png'],
      ),
    ).toEqual({
      text: 'compare',
      images: [
        { src: png, label: 'left.png' },
        { src: png, label: 'right.png' },
      ],
    });
  });

  it('shows a placeholder, never a request, for links and other embedded types', () => {
    const view = contentView([
      { type: 'image_url', image_url: { url: 'https://tracker.example.com/pixel.png' } },
      { type: 'image_url', image_url: { url: 'data:image/svg+xml;base64,PHN2Zz4=' } },
    ]);
    expect(view).toEqual({
      text: '',
      images: [
        { src: undefined, label: 'Image 1 (a link to tracker.example.com, not loaded)' },
        { src: undefined, label: 'Image 2 (not shown: not a PNG, JPEG, WebP or GIF image)' },
      ],
    });
  });

  it('keeps plain text as it is', () => {
    expect(contentView('hello')).toEqual({ text: 'hello', images: undefined });
  });
});
