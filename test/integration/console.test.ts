import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoScript } from '../../src/providers/index.js';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { launchBrowser, screenshot, watchPageProblems } from '../support/browser.js';
import {
  type ConsoleServer,
  issue,
  requireConsoleTestSetup,
  signIn,
  startConsoleServer,
  waitReady,
} from '../support/console-server.js';
import { FakeUpstream, eventually } from '../support/fake-upstream.js';

// The console in Debian's Chromium against real servers from dist/ (which serve dist/console):
// one with the demo model, one with a scripted model whose answer is an XSS payload in
// Markdown, one in front of an endpoint that streams slowly until stopped. The Operations
// pages have their own file (console-ops.test.ts).
requireConsoleTestSetup();

const servers: ConsoleServer[] = [];
let browser: Browser;

async function start(extra: string[] = []): Promise<ConsoleServer> {
  const server = await startConsoleServer(extra);
  servers.push(server);
  return server;
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.child.kill('SIGKILL');
});

describe('console: sign-in and chat with the demo model', () => {
  let demo: ConsoleServer;
  beforeAll(async () => {
    demo = await start();
    await waitReady(demo);
  });

  it('refuses a bad token with a clear message, then signs in and out', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const problems = watchPageProblems(page);
    await page.goto(demo.url);
    await screenshot(page, 'sign-in');
    await page.getByTestId('token-input').fill('not-a-token');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('sign-in-error').textContent()).toMatch(/token/i);

    await page.getByTestId('token-input').fill(issue(demo, 'alice@example.com'));
    await page.getByTestId('sign-in').click();
    await page.getByTestId('composer').waitFor();
    expect(await page.textContent('body')).toContain('alice@example.com');
    // The token lives in an HttpOnly cookie only: page scripts cannot read it, nor storage.
    expect(await page.evaluate<string>('document.cookie')).not.toContain('assistd_session');
    expect(
      await page.evaluate<string>('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)'),
    ).not.toMatch(/eyJ/);
    // Nothing else either (the session's expiry included), before and after a reload: browser
    // storage holds the theme at most.
    const storedKeys = `JSON.stringify([
      ...Object.keys(localStorage).filter((key) => key !== 'assistd-console-theme'),
      ...Object.keys(sessionStorage),
    ])`;
    expect(await page.evaluate<string>(storedKeys)).toBe('[]');
    await page.reload();
    await page.getByTestId('composer').waitFor();
    expect(await page.evaluate<string>(storedKeys)).toBe('[]');
    await page.getByTestId('sign-out').click();
    await page.getByTestId('token-input').waitFor();
    // Signed out means the cookie is gone, not just the page.
    expect((await context.cookies()).map((cookie) => cookie.name)).not.toContain('assistd_session');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('never sends a write again as another principal another tab signed in as', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const first = await context.newPage();
    await first.goto(demo.url);
    await first.getByTestId('token-input').fill(issue(demo, 'tab-alice@example.com'));
    await first.getByTestId('sign-in').click();
    await first.getByTestId('composer').waitFor();
    // Another tab of the same browser signs out and in as someone else: the cookie is theirs.
    const second = await context.newPage();
    await second.goto(demo.url);
    await second.getByTestId('sign-out').click();
    await second.getByTestId('token-input').fill(issue(demo, 'tab-mallory@example.com'));
    await second.getByTestId('sign-in').click();
    await second.getByTestId('composer').waitFor();

    await send(first, 'a message for alice only');
    await first.getByTestId('token-input').waitFor();
    // The name is isolated (U+2068 … U+2069), as <bdi> does.
    expect(await first.textContent('body')).toContain(
      'Another tab signed in as \u2068tab-mallory@example.com\u2069',
    );
    // Nothing reached the other principal's conversations.
    const listed = await second.evaluate(async () => {
      const response = await fetch('/v1/conversations');
      return (await response.json()) as { data: unknown[] };
    });
    expect(listed.data).toEqual([]);
    await context.close();
  });

  it('streams the demo model’s exact answer, shows the demo banner, and lists the chat', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await signIn(context, demo, issue(demo, 'alice@example.com'));
    const problems = watchPageProblems(page);
    await page.getByTestId('demo-banner').waitFor();
    // Every state the answer passes through, recorded in the page as it happens.
    // (Browser code as a string: this file is type-checked without the DOM library.)
    await page.evaluate(`{
      const seen = [];
      window.seenStates = seen;
      new MutationObserver(() => {
        for (const node of document.querySelectorAll('[data-testid="assistant-message"]')) {
          const entry = (node.getAttribute('data-state') ?? '') + ':' + (node.querySelector('.markdown')?.textContent ?? '').length;
          if (seen.at(-1) !== entry) seen.push(entry);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    }`);
    // The tiny model writes its whole answer in a few milliseconds, and the page renders streamed
    // text once per animation frame, so all of it could land in one frame. Events are handed to
    // the page 20 ms apart, as a real model's would arrive (the page's own fetch, only slower).
    await page.evaluate(`{
      const realFetch = window.fetch;
      window.fetch = async (...args) => {
        const response = await realFetch(...args);
        if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
          return response;
        }
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        const encoder = new TextEncoder();
        let buffered = '';
        const body = new ReadableStream({
          async pull(controller) {
            for (;;) {
              const end = buffered.indexOf('\\n\\n');
              if (end >= 0) {
                await new Promise((resolve) => setTimeout(resolve, 20));
                controller.enqueue(encoder.encode(buffered.slice(0, end + 2)));
                buffered = buffered.slice(end + 2);
                return;
              }
              const { done, value } = await reader.read();
              if (done) {
                if (buffered !== '') controller.enqueue(encoder.encode(buffered));
                controller.close();
                return;
              }
              buffered += decoder.decode(value, { stream: true });
            }
          },
        });
        return new Response(body, { status: response.status, headers: response.headers });
      };
    }`);
    await send(page, '你好');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    expect((await answer.locator('.markdown').textContent())?.trim()).toBe(demoScript);
    const states = await page.evaluate<string[]>('window.seenStates');
    // Streamed: it was seen while streaming with part of the text, before it was done.
    expect(
      states.some(
        (state) =>
          /^streaming:[1-9]/.test(state) && Number(state.split(':')[1]) < demoScript.length,
      ),
    ).toBe(true);
    expect(await page.getByTestId('conversation-item').count()).toBeGreaterThan(0);
    await screenshot(page, 'chat-1440-light');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('opens a long conversation at its newest messages and shows earlier ones on request', async () => {
    const token = issue(demo, 'carol@example.com');
    let id: string | undefined;
    // 27 turns, 54 messages: one page (50) and four more.
    for (let turn = 0; turn < 27; turn++) {
      const response = await fetch(`${demo.url}/v1/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          ...(id === undefined ? {} : { conversation_id: id }),
          messages: [{ role: 'user', content: `turn ${turn}` }],
          max_tokens: 4,
        }),
      });
      expect(response.status).toBe(200);
      id ??= ((await response.json()) as { conversation_id: string }).conversation_id;
    }
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await signIn(context, demo, token);
    const problems = watchPageProblems(page);
    await page.getByTestId('conversation-item').first().click();
    const users = page.getByTestId('user-message');
    await expect.poll(() => users.count()).toBe(25);
    expect(await users.first().textContent()).toContain('turn 2');
    const earlier = page.getByRole('button', { name: 'Show earlier messages' });
    await earlier.click();
    await expect.poll(() => users.count()).toBe(27);
    expect(await users.first().textContent()).toContain('turn 0');
    expect(await earlier.count()).toBe(0);
    expect(await page.getByTestId('assistant-message').count()).toBe(27);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('is usable at 360 px in the dark theme', async () => {
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      colorScheme: 'dark',
    });
    const page = await signIn(context, demo, issue(demo, 'bob@example.com'));
    await send(page, 'hello');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    // Nothing wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      360,
    );
    await screenshot(page, 'chat-360-dark');
    await context.close();
  });
});

describe('console: a model answer carrying HTML renders inert', () => {
  const payload =
    'Hi <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> **bold** ' +
    '[click](javascript:window.__xss=3) <a href="https://example.com" onclick="window.__xss=4">ok</a>';
  let scripted: ConsoleServer;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'assistd-console-xss-'));
    const model = join(dir, 'xss.gguf');
    await writeTinyModel(model, { mode: 'scripted', script: payload });
    scripted = await start(['--model-path', model]);
    await waitReady(scripted);
  });

  it('renders the Markdown, runs no script and keeps no handler or javascript: link', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, scripted, issue(scripted, 'alice@example.com'));
    await send(page, 'anything <img src=y onerror="window.__xss=5">');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    expect(await answer.locator('strong').textContent()).toBe('bold');
    expect(await page.evaluate<unknown>('window.__xss')).toBeUndefined();
    // No element from the answer: raw HTML is shown as text, Markdown makes the rest.
    const elements = await page.evaluate<{ tag: string; attributes: string[] }[]>(`
      [...[...document.querySelectorAll('[data-testid="assistant-message"]')].at(-1).querySelectorAll('*')].map(
        (node) => ({
          tag: node.tagName.toLowerCase(),
          attributes: [...node.attributes].map((attribute) => attribute.name + '=' + attribute.value),
        }),
      )`);
    expect(elements.map((element) => element.tag)).not.toContain('script');
    expect(elements.map((element) => element.tag)).not.toContain('img');
    for (const element of elements) {
      for (const attribute of element.attributes) {
        expect(attribute).not.toMatch(/^on/i);
        expect(attribute).not.toMatch(/^href=\s*javascript:/i);
      }
    }
    expect(await answer.textContent()).toContain('onerror=');
    // The user's own message is text, not HTML.
    expect(await page.getByTestId('user-message').last().textContent()).toContain('onerror=');
    await screenshot(page, 'xss-inert');
    await context.close();
  });
});

describe('console: stop', () => {
  // An endpoint that streams one word every 50 ms for 30 s: the answer is still coming when
  // Stop is pressed, whatever the machine's speed.
  let upstream: FakeUpstream;
  let server: ConsoleServer;
  beforeAll(async () => {
    upstream = await FakeUpstream.start();
    server = await start(['--model-endpoint', upstream.url, '--upstream-model', 'slow-model']);
    await waitReady(server);
  });
  afterAll(async () => upstream?.close());

  it('stops a long answer: the text so far stays, marked stopped, and the model call is aborted', async () => {
    const chunk = (delta: object) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'slow-model', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    upstream.enqueue({
      kind: 'sse',
      events: [
        chunk({ role: 'assistant', content: '' }),
        ...Array.from({ length: 600 }, (_, i) => chunk({ content: `word${i} ` })),
      ],
      gapMs: 50,
    });
    const context = await browser.newContext();
    const page = await signIn(context, server, issue(server, 'alice@example.com'));
    await send(page, 'talk for a long time');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(async () => (await answer.textContent()) ?? '').toContain('word3');
    await page.getByTestId('stop').click();
    await expect.poll(() => answer.getAttribute('data-state')).toBe('stopped');
    const partial = (await answer.textContent()) ?? '';
    expect(partial).not.toContain('word599');
    await eventually(() => upstream.chatRequests.at(-1)?.clientClosed === true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await answer.textContent()).toBe(partial);
    expect(await page.getByTestId('stop').isDisabled()).toBe(true);
    await page.getByTestId('composer').fill('next');
    expect(await page.getByTestId('send').isDisabled()).toBe(false);
    await context.close();
  });

  it('lets an answer finish while another conversation is open, and keeps the open one in the address', async () => {
    const token = issue(server, 'grace@example.com');
    // An earlier conversation to switch to (answered at once by the recorded completion).
    const earlier = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'the earlier one' }] }),
    });
    expect(earlier.status).toBe(200);
    const earlierId = ((await earlier.json()) as { conversation_id: string }).conversation_id;
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'slow-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    upstream.enqueue({
      kind: 'sse',
      events: [
        chunk({ role: 'assistant', content: '' }),
        ...Array.from({ length: 60 }, (_, i) => chunk({ content: `word${i} ` })),
        chunk({}, 'stop'),
        'data: [DONE]\n\n',
      ],
      gapMs: 50,
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await signIn(context, server, token);
    await send(page, 'talk for a while');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(async () => (await answer.textContent()) ?? '').toContain('word3');
    // The new conversation has an address as soon as the server named it.
    const address = new URL(page.url()).hash;
    expect(address).toMatch(/^#\/c\/.+/);
    const id = decodeURIComponent(address.slice('#/c/'.length));

    // Opening another conversation mid-answer asks nothing and stops nothing.
    await page
      .locator(
        `[data-testid="conversation-item"][data-conversation-id="${earlierId}"] .conversation-open`,
      )
      .click();
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/c/${earlierId}`);
    await expect
      .poll(async () => (await page.getByTestId('user-message').last().textContent()) ?? '')
      .toContain('the earlier one');
    expect(await page.getByTestId('stop').isDisabled()).toBe(true);

    // Back returns to it, still being written or finished; either way it ends whole.
    await page.goBack();
    await expect.poll(() => new URL(page.url()).hash).toBe(address);
    await expect
      .poll(() => page.getByTestId('assistant-message').last().getAttribute('data-state'), {
        timeout: 15_000,
      })
      .toBe('done');
    expect(await page.getByTestId('assistant-message').last().textContent()).toContain('word59');
    expect(upstream.chatRequests.at(-1)?.clientClosed).toBe(false);
    const stored = await fetch(`${server.url}/v1/conversations/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await stored.json()) as { messages: { role: string; incomplete: boolean }[] };
    expect(body.messages.map((message) => [message.role, message.incomplete])).toEqual([
      ['user', false],
      ['assistant', false],
    ]);

    // A reload opens the conversation in the address; Forward goes to the other one again.
    await page.reload();
    await page.getByTestId('composer').waitFor();
    expect(new URL(page.url()).hash).toBe(address);
    await expect
      .poll(async () => (await page.getByTestId('assistant-message').last().textContent()) ?? '')
      .toContain('word59');
    expect(await page.getByTestId('assistant-message').last().getAttribute('data-state')).toBe(
      'done',
    );
    await page.goForward();
    await expect
      .poll(async () => (await page.getByTestId('user-message').last().textContent()) ?? '')
      .toContain('the earlier one');

    // An address that names no conversation of this principal: a new chat and a short notice.
    for (const missing of ['conv_does_not_exist', id]) {
      const other = await browser.newContext();
      const principal = missing === id ? 'mallory@example.com' : 'grace@example.com';
      const visitor = await signIn(other, server, issue(server, principal));
      await visitor.goto(`${server.url}/#/c/${encodeURIComponent(missing)}`);
      await visitor.getByTestId('chat-notice').waitFor();
      expect(await visitor.getByTestId('chat-notice').textContent()).toContain('no longer exists');
      expect(new URL(visitor.url()).hash).toBe('#/chat');
      expect(await visitor.getByTestId('user-message').count()).toBe(0);
      expect(await visitor.getByTestId('chat-error').count()).toBe(0);
      await other.close();
    }
    await context.close();
  }, 60_000);
});
