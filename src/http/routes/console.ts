import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError, type ErrorCode } from '../../errors.js';

/**
 * The console's page and assets (built by Vite from `web/` into `dist/console/`), served without
 * a token: they hold no data, and the page asks for a token before it calls the API.
 */

/**
 * The console's Content-Security-Policy, replacing the API's `default-src 'none'` on the page:
 * only this origin's scripts, styles, images (plus data: and blob: URLs the page makes, such as
 * chart exports) and API calls. No inline scripts or styles, no eval.
 */
export const consoleCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite's file names carry a content hash, so a name always means the same bytes. */
const immutable = 'public, max-age=31536000, immutable';

/** The types served; any other extension is a 404 (nothing unexpected leaves the folder). */
const contentTypes: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** One path segment of an asset: no leading dot (so no `..` or hidden file), nothing encoded. */
const segmentPattern = /^[A-Za-z0-9_@~+-][A-Za-z0-9._@~+-]{0,199}$/;

const assetsPrefix = '/console/assets/';

/**
 * Where the build puts the console. From `dist/http/routes/console.js` that is `dist/console/`;
 * from the TypeScript sources (tsx, vitest) it is the same folder, made by the last build.
 */
export function defaultConsoleDir(): string {
  const here = import.meta.url;
  const relative = here.endsWith('.ts') ? '../../../dist/console/' : '../../console/';
  return fileURLToPath(new URL(relative, here));
}

export interface ConsoleRouteOptions {
  /** `console.enabled`: false answers the disabled page and 404s the assets. */
  enabled: boolean;
  /** The built console: `index.html` and `assets/`. */
  dir: string;
}

/** `GET /` (and HEAD), `GET /console/assets/*` and `GET /favicon.ico`, all public. */
export function consoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions): void {
  const { enabled, dir } = options;
  const assetsDir = join(dir, 'assets');

  app.get('/', { config: { public: true } }, async (_request, reply) => {
    if (!enabled) return unavailablePage(reply, 'console_disabled');
    const page = await readFile(join(dir, 'index.html')).catch(() => undefined);
    if (page === undefined) return unavailablePage(reply, 'console_not_built');
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', consoleCsp)
      .send(page);
  });

  app.get(`${assetsPrefix}*`, { config: { public: true } }, async (request, reply) => {
    // The raw path, not the decoded parameter: an encoded slash or dot never becomes one.
    const path = request.url.split('?', 1)[0]!;
    const file = enabled ? await findAsset(assetsDir, path.slice(assetsPrefix.length)) : undefined;
    if (file === undefined) throw notFound(request.method, path);
    return sendFile(reply, file, immutable);
  });

  // Browsers ask for it on their own; without this route the 401 would count as a failed login.
  app.get('/favicon.ico', { config: { public: true } }, async (request, reply) => {
    const file = enabled ? await findAsset(dir, 'favicon.ico') : undefined;
    if (file === undefined) throw notFound(request.method, '/favicon.ico');
    return sendFile(reply, file, 'public, max-age=86400');
  });
}

/**
 * The file `relative` names inside `root`, or undefined: only plain segments (see
 * `segmentPattern`), a known extension, a regular file, and after symbolic links are followed
 * still inside `root`.
 */
async function findAsset(root: string, relative: string): Promise<string | undefined> {
  if (relative.length > 512) return undefined;
  const segments = relative.split('/');
  if (segments.length > 8 || !segments.every((segment) => segmentPattern.test(segment))) {
    return undefined;
  }
  if (!(extname(relative).toLowerCase() in contentTypes)) return undefined;
  try {
    const [base, file] = await Promise.all([realpath(root), realpath(join(root, ...segments))]);
    if (!file.startsWith(base + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

async function sendFile(reply: FastifyReply, file: string, cacheControl: string) {
  const body = await readFile(file).catch(() => undefined);
  if (body === undefined) throw new AppError('route_not_found');
  return reply
    .header('content-type', contentTypes[extname(file).toLowerCase()]!)
    .header('cache-control', cacheControl)
    .send(body);
}

function notFound(method: string, path: string): AppError {
  return new AppError('route_not_found', `No file ${method} ${path.slice(0, 200)}.`);
}

/**
 * A small self-contained page (no script, no style, so the API's strict CSP stays) saying why
 * there is no console; the code is also in `x-assistd-error` for scripts and tests.
 */
function unavailablePage(reply: FastifyReply, code: ErrorCode) {
  const error = new AppError(code);
  const page = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><title>assistd</title></head>',
    '<body>',
    '<h1>assistd</h1>',
    `<p>${error.message}</p>`,
    `<p>Error code: <code>${code}</code>. The API is served as usual.</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return reply
    .status(error.status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-assistd-error', code)
    .send(page);
}
