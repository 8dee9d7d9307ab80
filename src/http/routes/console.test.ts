import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../../test/support/harness.js';
import { consoleCsp, defaultConsoleDir } from './console.js';

/** A console folder as Vite leaves it, plus a secret beside it that must never be served. */
function builtConsole(): string {
  const root = mkdtempSync(join(tmpdir(), 'assistd-console-'));
  const dir = join(root, 'console');
  mkdirSync(join(dir, 'assets', 'fonts'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'assets', 'index-B2x_k9Qa.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-C3d.css'), 'body{}');
  writeFileSync(join(dir, 'assets', 'logo-1.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'assets', 'index-B2x_k9Qa.js.map'), '{}');
  writeFileSync(join(dir, 'assets', 'fonts', 'inter-9f.woff2'), 'wOF2');
  writeFileSync(join(dir, 'assets', 'icon.png'), 'png');
  writeFileSync(join(dir, 'assets', '.env.js'), 'hidden');
  writeFileSync(join(dir, 'assets', 'notes.sh'), 'echo');
  writeFileSync(join(root, 'secret.txt'), 'SECRET-OUTSIDE');
  writeFileSync(join(dir, 'secret.js'), 'SECRET-BESIDE');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'assets', 'linked.txt'));
  return dir;
}

type ErrorBody = { error: { code: string } };

/**
 * Sends `GET target` byte for byte over a socket: fetch and inject normalise `..` and `%2e%2e`
 * away before the server sees them, as a browser would, but an attacker's client need not.
 */
function rawGet(url: string, target: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      // write, not end: a half-closed socket reads as a client that has gone away.
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve({ status: Number(text.split(' ', 2)[1]), text }));
  });
}

let dir: string;
let harness: Harness;

beforeAll(async () => {
  dir = builtConsole();
  harness = await Harness.start({ consoleDir: dir });
});
afterAll(async () => {
  await harness.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

describe('the console page', () => {
  it('is served at / without a token, not cached, under its own CSP', async () => {
    const response = await harness.request('/', { principal: null });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('<!doctype html><title>console</title>');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy');
    expect(csp).toBe(consoleCsp);
    expect(csp).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
        "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; " +
        "form-action 'self'; frame-ancestors 'none'",
    );
    expect(csp).not.toContain('unsafe');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const head = await harness.request('/', { principal: null, method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-cache');
  });

  it('leaves the strict CSP on the API', async () => {
    const models = await harness.request('/v1/models');
    expect(models.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });

  it('resolves to dist/console/ from the compiled server and from the sources', () => {
    expect(defaultConsoleDir()).toMatch(/[/\\]dist[/\\]console[/\\]$/);
  });
});

describe('console assets', () => {
  it.each([
    ['index-B2x_k9Qa.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['index-C3d.css', 'text/css; charset=utf-8', 'body{}'],
    ['logo-1.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['index-B2x_k9Qa.js.map', 'application/json; charset=utf-8', '{}'],
    ['fonts/inter-9f.woff2', 'font/woff2', 'wOF2'],
    ['icon.png', 'image/png', 'png'],
  ])('serves %s as %s, cached for good', async (name, type, body) => {
    const response = await harness.request(`/console/assets/${name}?v=1`, { principal: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(body);
  });

  it('answers a missing file with the usual 404 error', async () => {
    const response = await harness.json<ErrorBody>('/console/assets/missing-1.js', {
      principal: null,
    });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('route_not_found');
    const favicon = await harness.json<ErrorBody>('/favicon.ico', { principal: null });
    expect(favicon.status).toBe(404);
  });

  it.each([
    '/console/assets/../secret.js',
    '/console/assets/../../secret.txt',
    '/console/assets/fonts/../../secret.js',
    '/console/assets/..%2fsecret.js',
    '/console/assets/..%2Fsecret.js',
    '/console/assets/%2e%2e/secret.js',
    '/console/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/console/assets/..%5csecret.js',
    '/console/assets/..\\secret.js',
    '/console/assets/fonts%2finter-9f.woff2',
    '/console/assets/index-B2x_k9Qa.js%00.png',
    '/console/assets//etc/passwd',
    '/console/assets/.env.js',
    '/console/assets/notes.sh',
    '/console/assets/linked.txt',
  ])('never serves %s (404)', async (target) => {
    const response = await rawGet(harness.url, target);
    expect(response.status, response.text).toBe(404);
    expect(response.text).toContain('route_not_found');
    expect(response.text).not.toContain('SECRET');
    expect(response.text).not.toContain('root:');
  });

  it('refuses a NUL in the path before any route sees it', async () => {
    const response = await rawGet(harness.url, '/console/assets/index-B2x_k9Qa.js\u0000');
    expect(response.status).toBe(400);
    expect(response.text).not.toContain('console.log');
  });
});

describe('without a built console', () => {
  it('answers / with a small 404 page saying how to build it, and serves the API', async () => {
    const bare = await Harness.start({ consoleDir: join(dir, 'no-such-folder') });
    try {
      const response = await bare.request('/', { principal: null });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('x-assistd-error')).toBe('console_not_built');
      // Self-contained: no script or style, so the strict CSP stays.
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      const page = await response.text();
      expect(page).toContain('The web console is not built: run npm run build');
      expect(page).toContain('console_not_built');
      expect(page).not.toMatch(/<script|<style|<link/);
      expect((await bare.request('/console/assets/index.js', { principal: null })).status).toBe(
        404,
      );
      expect((await bare.request('/v1/models')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('with console.enabled false', () => {
  it('says the console is disabled and serves no asset and no session', async () => {
    const off = await Harness.start({ consoleDir: dir, config: { console: { enabled: false } } });
    try {
      const response = await off.request('/', { principal: null });
      expect(response.status).toBe(404);
      expect(response.headers.get('x-assistd-error')).toBe('console_disabled');
      expect(await response.text()).toContain('The web console is disabled');
      const asset = await off.json<ErrorBody>('/console/assets/index-B2x_k9Qa.js', {
        principal: null,
      });
      expect(asset.status).toBe(404);
      const token = await off.token('dana');
      const session = await off.json<ErrorBody>('/console/session', {
        principal: null,
        body: { token },
      });
      expect(session.status).toBe(404);
      expect(session.body.error.code).toBe('console_disabled');
      expect(session.headers.get('set-cookie')).toBeNull();
      // The cookie is no credential then: only bearer tokens authenticate.
      const byCookie = await off.json<ErrorBody>('/v1/models', {
        principal: null,
        headers: { cookie: `assistd_session=${token}` },
      });
      expect(byCookie.status).toBe(401);
      expect(byCookie.body.error.code).toBe('missing_token');
    } finally {
      await off.close();
    }
  });
});
