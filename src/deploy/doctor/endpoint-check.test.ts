import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeCertificate } from '../../../test/support/certificates.js';
import { configSchema, type ConfigInput } from '../../config/schema.js';
import { endpointCheck, type EndpointCheckOptions } from './endpoint-check.js';
import { runChecks } from './runner.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-doctor-endpoint-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const certificate = makeCertificate(folder, 'endpoint');

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

/** An OpenAI-compatible /v1/models that wants `Bearer right-key`. */
function models(request: IncomingMessage, response: ServerResponse): void {
  if (request.url !== '/v1/models') {
    response.writeHead(404).end();
  } else if (request.headers.authorization !== 'Bearer right-key') {
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
  } else {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ object: 'list', data: [{ id: 'qwen-7b' }, { id: 'llama-8b' }] }));
  }
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function check(input: ConfigInput, options: EndpointCheckOptions = {}, timeoutMs = 2_000) {
  const [result] = await runChecks([endpointCheck(configSchema.parse(input), options)], {
    timeoutMs,
  });
  return result!;
}

describe('the model endpoint check', () => {
  it('passes with the right key over HTTP and fails "API key rejected" with a wrong one', async () => {
    const port = await listen(createHttpServer(models));
    const url = `http://127.0.0.1:${port}`;
    const right = await check({ model_endpoint: url, api_key: 'right-key' });
    expect(right).toMatchObject({ status: 'pass' });
    expect(right.detail).toContain(`GET ${url}/v1/models: HTTP 200; 2 models (qwen-7b, llama-8b)`);
    const wrong = await check({ model_endpoint: url, api_key: 'wrong-key' });
    expect(wrong).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('HTTP 401: API key rejected'),
    });
    const none = await check({ model_endpoint: url });
    expect(none.detail).toContain('none is configured');
    const missing = await check({
      model_endpoint: url,
      api_key: 'right-key',
      upstream: { model: 'gpt-9' },
    });
    expect(missing).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('"gpt-9" is not among them'),
    });
  });

  it('uses the path the server uses: a base URL with a path gets /models appended to it', async () => {
    const port = await listen(createHttpServer(models));
    const result = await check({
      model_endpoint: `http://127.0.0.1:${port}/v1/`,
      api_key: 'right-key',
    });
    expect(result.status).toBe('pass');
    const elsewhere = await check({
      model_endpoint: `http://127.0.0.1:${port}/api`,
      api_key: 'right-key',
    });
    expect(elsewhere).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('/api/models: HTTP 404'),
    });
  });

  it('reports TLS 1.3 and the certificate expiry when the certificate is trusted', async () => {
    const port = await listen(
      createHttpsServer(
        { cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.3' },
        models,
      ),
    );
    const config = { model_endpoint: `https://127.0.0.1:${port}`, api_key: 'right-key' };
    const trusted = await check(config, { ca: certificate.cert });
    // The test certificate is valid one day: under the 14 days that warn.
    expect(trusted.status).toBe('warn');
    expect(trusted.detail).toContain('HTTP 200');
    expect(trusted.detail).toContain('TLSv1.3');
    expect(trusted.detail).toMatch(/certificate valid until \S+ \(0 days\)/);
    expect(trusted.detail).toContain('its certificate expires in 0 days');
  });

  it('fails the TLS stage on a self-signed certificate nobody trusts', async () => {
    const port = await listen(
      createHttpsServer({ cert: certificate.cert, key: certificate.key }, models),
    );
    const result = await check({
      model_endpoint: `https://localhost:${port}`,
      api_key: 'right-key',
    });
    expect(result).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^TLS: the certificate is self-signed/),
    });
  });

  it('fails the connect stage on a refused port', async () => {
    const port = await listen(createTcpServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const result = await check({ model_endpoint: `http://127.0.0.1:${port}`, api_key: 'k' });
    expect(result).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('connect: 127.0.0.1'),
    });
    expect(result.detail).toContain('connection refused');
  });

  it('names the stage that timed out on a server that accepts and never answers', async () => {
    const port = await listen(createTcpServer(() => undefined));
    for (const [scheme, stage] of [
      ['http', 'HTTP'],
      ['https', 'TLS'],
    ] as const) {
      const started = performance.now();
      const result = await check(
        { model_endpoint: `${scheme}://127.0.0.1:${port}`, api_key: 'k' },
        {},
        300,
      );
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(result).toMatchObject({ status: 'fail' });
      expect(result.detail).toMatch(new RegExp(`^${stage}: .*within 300 ms`));
    }
  });

  it('skips without an endpoint', async () => {
    expect(await check({})).toMatchObject({
      status: 'skip',
      detail: 'no model_endpoint configured',
    });
  });
});
