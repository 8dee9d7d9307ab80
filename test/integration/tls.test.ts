import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../src/providers/startup-error.js';
import { makeCertificate, replaceFile, type TestCertificate } from '../support/certificates.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';
import { Child, assistdBin, run } from '../support/process.js';
import { runCliCaptured } from '../support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-tls-it-'));
let alpha: TestCertificate;
let beta: TestCertificate;
let gamma: TestCertificate;
let upstream: FakeUpstream;

beforeAll(async () => {
  alpha = makeCertificate(folder, 'alpha');
  beta = makeCertificate(folder, 'beta');
  gamma = makeCertificate(folder, 'gamma');
  upstream = await FakeUpstream.start();
});
afterAll(async () => {
  await upstream.close();
  rmSync(folder, { recursive: true, force: true });
});

let servingNumber = 0;
/** A folder holding `tls.crt` / `tls.key` with `certificate` in them. */
function servingFiles(certificate: TestCertificate) {
  const directory = join(folder, `serving-${++servingNumber}`);
  mkdirSync(directory);
  const files = { certFile: join(directory, 'tls.crt'), keyFile: join(directory, 'tls.key') };
  copyFileSync(certificate.certFile, files.certFile);
  copyFileSync(certificate.keyFile, files.keyFile);
  return files;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  protocol: string | null;
  fingerprint256: string;
  reusedSocket: boolean;
  socket: TLSSocket;
}

/** One HTTPS request; the certificate is checked by fingerprint, so it is not verified here. */
function get(url: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(path, url), { rejectUnauthorized: false, ...options });
    outgoing.on('response', (response) => {
      const socket = response.socket as TLSSocket;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body,
          headers: response.headers,
          protocol: socket.getProtocol(),
          fingerprint256: socket.getPeerCertificate().fingerprint256,
          reusedSocket: outgoing.reusedSocket,
          socket,
        }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A fresh connection's view of the server certificate. */
async function servedFingerprint(url: string): Promise<string> {
  return (await get(url, '/health', { agent: false })).fingerprint256;
}

/** curl's exit code for a TLS 1.2-at-most client (35: the handshake failed). */
async function curlTls12(url: string): Promise<number | null> {
  return (await run('curl', ['-sS', '-k', '--tls-max', '1.2', '-o', '/dev/null', `${url}/health`]))
    .code;
}

/** curl at TLS 1.3 (`--tlsv1.3` sets the minimum): its exit code and the HTTP status. */
async function curlTls13(url: string): Promise<{ code: number | null; stdout: string }> {
  const { code, stdout } = await run('curl', [
    '-sS',
    '-k',
    '--tlsv1.3',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    `${url}/health`,
  ]);
  return { code, stdout };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
}

/** Runs the CLI in this process, capturing its output. */
function cli(args: string[]) {
  return runCliCaptured(args, { cwd: folder });
}

describe('HTTPS with TLS 1.3', () => {
  let harness: Harness;
  let files: { certFile: string; keyFile: string };

  beforeAll(async () => {
    files = servingFiles(alpha);
    harness = await Harness.start({
      config: { tls: { cert_file: files.certFile, key_file: files.keyFile } },
    });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('serves HTTPS over TLS 1.3 and reports an https URL', async () => {
    expect(harness.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // Verified against the certificate as a CA: the chain and the IP SAN are right.
    const health = await get(harness.url, '/health', { rejectUnauthorized: true, ca: alpha.cert });
    expect(health).toMatchObject({ status: 200, protocol: 'TLSv1.3' });
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect(health.fingerprint256).toBe(alpha.fingerprint256);
    expect(health.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(await curlTls13(harness.url)).toEqual({ code: 0, stdout: '200' });

    const models = await get(harness.url, '/v1/models', {
      headers: { authorization: `Bearer ${harness.adminToken}` },
    });
    expect(models.status).toBe(200);
    expect(harness.logs()).toContain('serving TLS 1.3 with certificate');
  });

  it('refuses a TLS 1.2 client', async () => {
    await expect(
      get(harness.url, '/health', { agent: false, maxVersion: 'TLSv1.2' }),
    ).rejects.toThrow();
    expect(await curlTls12(harness.url)).toBe(35);
  });

  it('reloads to a new certificate without dropping a keep-alive connection or TLS 1.3', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      const before = await get(harness.url, '/health', { agent });
      expect(before.fingerprint256).toBe(alpha.fingerprint256);

      replaceFile(files.certFile, beta.cert);
      replaceFile(files.keyFile, beta.key);
      await harness.server.reload(); // what SIGHUP calls

      expect(await servedFingerprint(harness.url)).toBe(beta.fingerprint256);
      // The connection opened before the reload is still open, on the old certificate.
      const after = await get(harness.url, '/health', { agent });
      expect(after).toMatchObject({ status: 200, reusedSocket: true });
      expect(after.socket).toBe(before.socket);
      expect(after.fingerprint256).toBe(alpha.fingerprint256);
      // And the floor did not move.
      await expect(
        get(harness.url, '/health', { agent: false, maxVersion: 'TLSv1.2' }),
      ).rejects.toThrow();
      expect(await curlTls12(harness.url)).toBe(35);
      expect(await curlTls13(harness.url)).toEqual({ code: 0, stdout: '200' });
      expect(harness.logs()).toContain('reloaded TLS certificate');
    } finally {
      agent.destroy();
    }
  });

  it('refuses an invalid new pair and keeps serving the old certificate', async () => {
    const served = await servedFingerprint(harness.url);
    replaceFile(files.certFile, gamma.cert); // the key is still beta's
    await harness.server.reload();
    expect(await servedFingerprint(harness.url)).toBe(served);
    expect(harness.logs()).toMatch(/tls\.key does not belong to the certificate/);

    replaceFile(files.certFile, 'garbage');
    replaceFile(files.keyFile, gamma.key);
    await harness.server.reload();
    expect(await servedFingerprint(harness.url)).toBe(served);
    expect(harness.logs()).toMatch(/tls\.crt holds no PEM certificate/);
    expect(await curlTls12(harness.url)).toBe(35);

    // Fixing the certificate completes the pair; the file watch picks it up without a signal.
    replaceFile(files.certFile, gamma.cert);
    await until(async () => (await servedFingerprint(harness.url)) === gamma.fingerprint256);
  });

  it('serves nothing but /health, /ready, the JWKS and the console without a token', async () => {
    await sweepUnauthenticated(harness.server.app);
  });
});

/**
 * Every route Fastify has registered, with its methods, read from the router's printed tree
 * (each line is a path segment, indented four characters per level).
 */
function registeredRoutes(app: FastifyInstance): Array<{ path: string; methods: string[] }> {
  const routes: Array<{ path: string; methods: string[] }> = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    if (match[3] !== undefined) routes.push({ path, methods: match[3].split(', ') });
  }
  return routes;
}

async function sweepUnauthenticated(app: FastifyInstance): Promise<void> {
  const publicPaths = new Set([
    '/health',
    '/ready',
    '/.well-known/jwks.json',
    // The web console's page and files (no data in them).
    '/',
    '/console/assets/*',
    '/favicon.ico',
  ]);
  // Sign-in takes its token in the body, so without one it is a 400, not a 401. GET and DELETE
  // /console/session need the session cookie: 401 without it.
  const publicRoutes = new Set(['POST /console/session']);
  const routes = registeredRoutes(app);
  const paths = routes.map((route) => route.path);
  // The parse found the routes (a broken parse must not pass as "nothing to check").
  expect(paths).toEqual(
    expect.arrayContaining([...publicPaths, '/v1/chat', '/v1/chat/completions', '/v1/models']),
  );
  expect(paths).toContain('/v1/conversations/:id');

  const answers: string[] = [];
  let caller = 0;
  for (const { path, methods } of routes) {
    for (const method of methods) {
      const url = path.replace(/:[^/]+/g, 'x1').replace(/\*/g, 'x1');
      const response = await app.inject({
        method: method as 'GET',
        url,
        // A different address each time, so failed authentication never locks the sweep out.
        remoteAddress: `10.9.${Math.floor(++caller / 250)}.${caller % 250}`,
      });
      answers.push(`${method} ${path} ${response.statusCode}`);
      if (publicPaths.has(path) || publicRoutes.has(`${method} ${path}`)) {
        expect(response.statusCode, `${method} ${path}`).not.toBe(401);
      } else {
        expect(response.statusCode, `${method} ${path}`).toBe(401);
      }
    }
  }
  expect(answers.length).toBeGreaterThanOrEqual(10);
  // An unknown path is not probed anonymously either.
  const unknown = await app.inject({ method: 'GET', url: '/v1/nope', remoteAddress: '10.9.9.9' });
  expect(unknown.statusCode).toBe(401);
}

describe('a bad certificate pair at start', () => {
  it('stops the start with the file named', async () => {
    const attempt = Harness.start({
      config: { tls: { cert_file: alpha.certFile, key_file: beta.keyFile } },
    });
    await expect(attempt).rejects.toThrow(StartupError);
    await expect(attempt).rejects.toThrow(`TLS key ${beta.keyFile} does not belong`);
  });

  it('makes the CLI exit 2', async () => {
    const data = join(folder, 'bad-pair-data');
    const result = await cli([
      'serve',
      '--port',
      '0',
      '--data-dir',
      data,
      '--log-level',
      'silent',
      '--tls-cert',
      alpha.certFile,
      '--tls-key',
      join(folder, 'missing.key'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read TLS key .*missing\.key: no such file/);
  });
});

describe('plain HTTP on a non-loopback address', () => {
  it('is refused with why and what to do (exit 2)', async () => {
    const result = await cli([
      'serve',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--data-dir',
      join(folder, 'refused-data'),
      '--log-level',
      'silent',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0/);
    expect(result.stderr).toMatch(/--tls-cert FILE --tls-key FILE/);
    expect(result.stderr).toMatch(/--tls-terminated-by-proxy/);
  });

  it('is served when TLS is terminated by a proxy', async () => {
    const harness = await Harness.start({
      config: { host: '0.0.0.0', tls: { terminated_by_proxy: true } },
    });
    try {
      expect(harness.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      const port = new URL(harness.url).port;
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      // No HSTS over plain HTTP: the proxy in front owns that.
      expect(health.headers.get('strict-transport-security')).toBeNull();
    } finally {
      await harness.close();
    }
  });
});

describe('assistd serve (the built CLI)', () => {
  const children: Child[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  function serve(args: string[], cwd: string): Child {
    const child = Child.spawn(
      process.execPath,
      [
        assistdBin,
        'serve',
        '--model-endpoint',
        upstream.url,
        '--upstream-model',
        'gpt-4o-mini',
        '--log-level',
        'info',
        ...args,
      ],
      { cwd, env: { ...process.env, API_KEY: 'sk-test-tls' } },
    );
    children.push(child);
    return child;
  }

  it('serves HTTPS from --tls-cert/--tls-key and reloads them on SIGHUP', async () => {
    // The served paths are links into a folder the server does not watch, so only SIGHUP can
    // make it notice the new files.
    const root = mkdtempSync(join(folder, 'cli-'));
    mkdirSync(join(root, 'store'));
    mkdirSync(join(root, 'tls'));
    copyFileSync(alpha.certFile, join(root, 'store', 'tls.crt'));
    copyFileSync(alpha.keyFile, join(root, 'store', 'tls.key'));
    symlinkSync(join(root, 'store', 'tls.crt'), join(root, 'tls', 'tls.crt'));
    symlinkSync(join(root, 'store', 'tls.key'), join(root, 'tls', 'tls.key'));
    const port = await freePort();
    const child = serve(
      ['--port', String(port), '--tls-cert', 'tls/tls.crt', '--tls-key', 'tls/tls.key'],
      root,
    );
    const url = `https://127.0.0.1:${port}`;
    try {
      await child.waitFor(/assistd listening/);
      expect(child.stdout).toContain(`"url":"${url}"`);
      expect(await curlTls13(url)).toEqual({ code: 0, stdout: '200' });
      expect(await curlTls12(url)).toBe(35);
      expect(await servedFingerprint(url)).toBe(alpha.fingerprint256);

      replaceFile(join(root, 'store', 'tls.crt'), beta.cert);
      replaceFile(join(root, 'store', 'tls.key'), beta.key);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await servedFingerprint(url)).toBe(alpha.fingerprint256);
      child.kill('SIGHUP');
      await child.waitFor(/reloaded TLS certificate/);
      expect(await servedFingerprint(url)).toBe(beta.fingerprint256);
      expect(await curlTls12(url)).toBe(35);
      expect(await curlTls13(url)).toEqual({ code: 0, stdout: '200' });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child.exited).code).toBe(0);
  });

  it('refuses 0.0.0.0 without TLS (exit 2) and serves it with --tls-terminated-by-proxy', async () => {
    const root = mkdtempSync(join(folder, 'cli-'));
    const refused = serve(['--host', '0.0.0.0', '--port', String(await freePort())], root);
    expect((await refused.exited).code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0/);

    const port = await freePort();
    const served = serve(
      ['--host', '0.0.0.0', '--port', String(port), '--tls-terminated-by-proxy'],
      root,
    );
    try {
      await served.waitFor(/assistd listening/);
      const head = await run('curl', ['-sI', `http://127.0.0.1:${port}/health`]);
      expect(head.stdout).toMatch(/^HTTP\/1.1 200 OK/);
    } finally {
      served.kill('SIGTERM');
    }
    expect((await served.exited).code).toBe(0);
  });
});
