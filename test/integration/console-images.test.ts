import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { focusedTestId, launchBrowser, screenshot, watchPageProblems } from '../support/browser.js';
import {
  type ConsoleServer,
  issue,
  requireConsoleTestSetup,
  signIn,
  startConsoleServer,
  waitReady,
} from '../support/console-server.js';
import { FakeUpstream, eventually } from '../support/fake-upstream.js';

// Image attachments in the console, in Debian's Chromium against a server from dist/ with two
// models: `vision-model` at a fake endpoint declared to take images (upstream.accepts_images,
// from a config file), and `text-only`, a tiny local llama.cpp model, which takes none.
requireConsoleTestSetup();

let browser: Browser;
let upstream: FakeUpstream;
let server: ConsoleServer;

beforeAll(async () => {
  browser = await launchBrowser();
  upstream = await FakeUpstream.start();
  const dir = mkdtempSync(join(tmpdir(), 'assistd-console-images-'));
  const config = join(dir, 'assistd.yaml');
  writeFileSync(
    config,
    [
      `model_endpoint: ${upstream.url}`,
      'upstream:',
      '  model: vision-model',
      '  accepts_images: true',
      'default_model: vision-model',
      '',
    ].join('\n'),
  );
  const model = join(dir, 'text-only.gguf');
  await writeTinyModel(model);
  server = await startConsoleServer(['--config', config, '--model-path', model]);
  await waitReady(server);
});
afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGKILL');
  await upstream?.close();
});

/** A `size`×`size` RGB PNG: a gradient, so the thumbnail is visibly an image. */
function png(size: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      row[1 + x * 3] = Math.round((255 * x) / size);
      row[2 + x * 3] = Math.round((255 * y) / size);
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Picks files through "Attach image", opened from the keyboard as a keyboard user would. */
async function attach(
  page: Page,
  files: Array<{ name: string; mimeType: string; buffer: Buffer }>,
): Promise<void> {
  // Listening first: Playwright starts intercepting the file picker when the listener is added,
  // and the round trips below let that settle before the key opens the picker.
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('attach-image').focus();
  expect(await focusedTestId(page)).toBe('attach-image');
  await page.keyboard.press('Enter');
  await (await chooser).setFiles(files);
}

/** The width the browser decoded an image at (0 when it was not loaded or was blocked). */
async function naturalWidth(image: Locator): Promise<number> {
  // Typed by hand: this file is type-checked without the DOM library.
  return image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth);
}

interface SentMessage {
  role: string;
  content: string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
}

/** The last user message of the last chat request the endpoint received. */
function lastUserMessage(): SentMessage | undefined {
  const body = upstream.chatRequests.at(-1)?.body as { messages: SentMessage[] } | undefined;
  return body?.messages.filter((message) => message.role === 'user').at(-1);
}

describe('console: image attachments', () => {
  it('sends an attached PNG as an image_url part and shows it in the message', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await signIn(context, server, issue(server, 'alice@example.com'));
    const problems = watchPageProblems(page);
    await expect.poll(() => page.getByTestId('model-select').inputValue()).toBe('vision-model');

    const picture = png(64);
    await attach(page, [
      { name: 'gradient.png', mimeType: 'image/png', buffer: picture },
      { name: 'second.png', mimeType: 'image/png', buffer: png(8) },
    ]);
    const thumbnails = page.getByTestId('attachment');
    await expect.poll(() => thumbnails.count()).toBe(2);
    expect(await thumbnails.first().getByRole('img').getAttribute('alt')).toBe('gradient.png');
    // A thumbnail is removable, from the keyboard too; the focus stays in the composer.
    await page.getByRole('button', { name: 'Remove second.png' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => thumbnails.count()).toBe(1);
    expect(await focusedTestId(page)).toBe('attach-image');

    const before = upstream.chatRequests.length;
    await page.getByTestId('composer').fill('What colours are in this picture?');
    await screenshot(page, 'image-attachment-composer-1440');
    await page.getByTestId('send').click();
    await eventually(() => upstream.chatRequests.length > before);
    const sent = lastUserMessage();
    expect(sent?.content).toEqual([
      { type: 'text', text: 'What colours are in this picture?' },
      {
        type: 'image_url',
        image_url: { url: `data:image/png;base64,${picture.toString('base64')}` },
      },
    ]);

    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    const shown = page
      .getByTestId('user-message')
      .last()
      .getByRole('img', { name: 'gradient.png' });
    await shown.waitFor();
    // Decoded and painted: the CSP's img-src allows data: URLs.
    expect(await naturalWidth(shown)).toBe(64);
    expect(await thumbnails.count()).toBe(0);
    await screenshot(page, 'image-attachment-1440');

    // Opened again from the list, the stored message shows the same image (numbered, unnamed).
    await page.getByTestId('conversation-item').first().click();
    const stored = page.getByTestId('user-message').last().getByRole('img', { name: 'Image 1' });
    await stored.waitFor();
    expect(await naturalWidth(stored)).toBe(64);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('refuses an oversized file in the browser, saying why, and sends nothing', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, server, issue(server, 'bob@example.com'));
    const before = upstream.chatRequests.length;
    await attach(page, [
      { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(800 * 1024, 1) },
    ]);
    await expect
      .poll(() => page.getByTestId('attach-error').textContent())
      .toBe(
        'huge.png is 800 KB: images can be at most 700 KB each, so that the message fits the server’s 1 MB limit.',
      );
    expect(await page.getByTestId('attachment').count()).toBe(0);
    // Send stays off with no text, and nothing reached the endpoint.
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    expect(upstream.chatRequests.length).toBe(before);
    await context.close();
  });

  it('refuses a file that only its name calls an image, in the browser and on the server', async () => {
    const context = await browser.newContext();
    const token = issue(server, 'dave@example.com');
    const page = await signIn(context, server, token);
    await expect.poll(() => page.getByTestId('model-select').inputValue()).toBe('vision-model');
    const before = upstream.chatRequests.length;
    const text = Buffer.from('just some text, renamed to look like a picture\n');
    await attach(page, [{ name: 'fake.png', mimeType: 'image/png', buffer: text }]);
    await expect
      .poll(() => page.getByTestId('attach-error').textContent())
      .toBe('fake.png is not a PNG, JPEG, WebP or GIF image.');
    expect(await page.getByTestId('attachment').count()).toBe(0);
    // A JPEG named .png is an image all the same: attached, and sent as the JPEG it is.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
    await attach(page, [{ name: 'photo.png', mimeType: 'image/png', buffer: jpeg }]);
    await expect.poll(() => page.getByTestId('attachment').count()).toBe(1);
    await page.getByTestId('composer').fill('what is this?');
    await page.getByTestId('send').click();
    await eventually(() => upstream.chatRequests.length > before);
    expect(lastUserMessage()?.content).toContainEqual({
      type: 'image_url',
      image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}` },
    });

    // The API refuses the same bytes declared as a PNG, naming the part.
    const response = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              {
                type: 'image_url',
                image_url: { url: `data:image/png;base64,${text.toString('base64')}` },
              },
            ],
          },
        ],
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; param: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.param).toBe('messages[0].content[1].image_url.url');
    await context.close();
  });

  it('shows no attach control for a text-only model, and holds attached images back from it', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, server, issue(server, 'carol@example.com'));
    await expect.poll(() => page.getByTestId('model-select').inputValue()).toBe('vision-model');
    await attach(page, [{ name: 'dot.png', mimeType: 'image/png', buffer: png(8) }]);
    await expect.poll(() => page.getByTestId('attachment').count()).toBe(1);
    await page.getByTestId('composer').fill('and this?');

    await page.getByTestId('model-select').selectOption('text-only');
    expect(await page.getByTestId('attach-image').count()).toBe(0);
    // The images stay (switching back sends them), but Send is off and says why.
    const send = page.getByTestId('send');
    expect(await send.isDisabled()).toBe(true);
    expect(await page.getByTestId('attach-blocked').textContent()).toBe(
      'text-only does not accept images: remove them, or choose a model that does.',
    );
    expect(await send.getAttribute('aria-describedby')).toBe('attach-blocked');

    // Removing the image lets the text go to the text-only model; the control stays absent.
    await page.getByRole('button', { name: 'Remove dot.png' }).click();
    expect(await page.getByTestId('attachments').count()).toBe(0);
    expect(await send.isDisabled()).toBe(false);

    await page.getByTestId('model-select').selectOption('vision-model');
    await page.getByTestId('attach-image').waitFor();
    await context.close();
  });
});
