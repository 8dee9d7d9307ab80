import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { openObjectStore } from '../../src/backup/object-store/open.js';
import { configSchema } from '../../src/config/schema.js';
import { writeTimestamp } from '../../src/deploy/doctor/sntp.js';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { runCliCaptured } from '../support/cli.js';
import { dropTestSchemas, testDatabaseUrl, testSchema } from '../support/postgres.js';
import { testPrefix, testRedisUrl } from '../support/redis.js';
import { S3Server } from '../support/s3.js';

// `assistd doctor` end to end, in process, against real servers on loopback: PostgreSQL, Redis,
// s3rver, an OpenAI-compatible /v1/models, an SNTP server, and ones that refuse or never answer.

interface Report {
  ok: boolean;
  checks: Array<{ id: string; title: string; status: string; detail: string }>;
}

const folder = mkdtempSync(join(tmpdir(), 'assistd-doctor-it-'));
const model = join(folder, 'tiny.gguf');
const cleanups: Array<() => Promise<unknown> | void> = [];
let s3: S3Server;
let endpoint: string;
let ntpPort: number;
let ntpAheadPort: number;
let silentTcpPort: number;

beforeAll(async () => {
  await writeTinyModel(model);
  s3 = await S3Server.start();
  cleanups.push(() => s3.stop());
  const api = createHttpServer((request, response) => {
    const authorized = request.headers.authorization === 'Bearer sk-doctor';
    response.writeHead(request.url !== '/v1/models' ? 404 : authorized ? 200 : 401, {
      'content-type': 'application/json',
    });
    response.end(JSON.stringify(authorized ? { data: [{ id: 'remote-model' }] } : {}));
  });
  endpoint = `http://127.0.0.1:${await listen(api)}`;
  // Accepts connections and never says a word.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  silentTcpPort = await listen(silent);
  cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
  ntpPort = await sntpServer(0);
  ntpAheadPort = await sntpServer(5_000);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await dropTestSchemas();
  rmSync(folder, { recursive: true, force: true });
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: listened on, then closed. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An SNTP server on a random UDP port whose clock is `offsetMs` ahead. */
async function sntpServer(offsetMs: number): Promise<number> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (request, peer) => {
    const reply = Buffer.alloc(48);
    reply[0] = (4 << 3) | 4;
    reply[1] = 1;
    request.copy(reply, 24, 40, 48);
    writeTimestamp(reply, 32, Date.now() + offsetMs);
    writeTimestamp(reply, 40, Date.now() + offsetMs);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    socket.close();
  });
  return socket.address().port;
}

let configNumber = 0;
function configFile(settings: Record<string, unknown>): string {
  const path = join(folder, `config-${++configNumber}.yaml`);
  writeFileSync(path, toYaml(settings));
  return path;
}

/** Runs `assistd doctor ARGS` in process, as the CLI does. */
function doctor(args: string[]) {
  return runCliCaptured(['doctor', ...args], { cwd: folder, env: {} });
}

function byId(report: Report): Record<string, { status: string; detail: string }> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check]));
}

describe('assistd doctor', () => {
  it('passes a configuration whose every service answers, with warnings only (exit 0)', async () => {
    const dataDir = join(folder, 'data-ok');
    const schema = testSchema('doctor');
    const prefix = testPrefix();
    const secretFile = join(folder, 's3-secret');
    writeFileSync(secretFile, S3Server.credentials.secretAccessKey);
    const apiKeyFile = join(folder, 'api-key');
    writeFileSync(apiKeyFile, 'sk-doctor\n');
    const settings = {
      port: 0,
      data_dir: dataDir,
      model_path: model,
      model_endpoint: endpoint,
      api_key_file: apiKeyFile,
      database: { url: testDatabaseUrl, schema },
      redis: { url: testRedisUrl, key_prefix: prefix },
      object_store: {
        s3: {
          bucket: s3.bucket,
          endpoint: s3.endpoint,
          prefix: 'doctor-test/',
          access_key_id: S3Server.credentials.accessKeyId,
          secret_access_key_file: secretFile,
        },
      },
      doctor: { ntp_server: `127.0.0.1:${ntpPort}` },
    };
    const run = await doctor(['--config', configFile(settings), '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.ok).toBe(true);
    const checks = byId(report);
    for (const id of [
      'node-version',
      'port-free',
      'data-dir-writable',
      'data-dir-disk',
      'model-file',
      'model-memory',
      'model-endpoint',
      'clock-offset',
      'postgres',
      'redis',
      'object-store',
    ]) {
      expect({ id, ...checks[id] }).toMatchObject({ id, status: 'pass' });
    }
    expect(checks['model-endpoint']!.detail).toContain('remote-model');
    expect(checks['data-dir-writable']!.detail).toContain('will be created');
    // The database was never migrated, so the keyring is empty: a warning, not a failure.
    expect(checks['signing-keys']).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('first start'),
    });
    expect(checks['metrics-port-free']!.status).toBe('skip');

    // Nothing was left behind: no schema, no Redis key, no object, no data dir.
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    const schemas = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    await client.end();
    expect(schemas.rowCount).toBe(0);
    const redis = new Redis(testRedisUrl);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    redis.disconnect();
    const store = await openObjectStore(configSchema.parse(settings));
    const left = [];
    for await (const object of store.list('')) left.push(object.key);
    expect(left).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('fails unreachable services within the timeout and exits 1', async () => {
    const settings = {
      port: 0,
      data_dir: join(folder, 'data-down'),
      model_endpoint: `http://127.0.0.1:${silentTcpPort}`,
      api_key: 'sk-doctor',
      database: { url: `postgres://postgres@127.0.0.1:${await refusedPort()}/test` },
      redis: { url: `redis://127.0.0.1:${await refusedPort()}` },
      object_store: { folder: join(folder, 'objects-down') },
    };
    const started = performance.now();
    const run = await doctor(['--config', configFile(settings), '--json', '--timeout', '300']);
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('checks failed');
    const report = JSON.parse(run.stdout) as Report;
    expect(report.ok).toBe(false);
    const checks = byId(report);
    expect(checks['model-endpoint']).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^HTTP: .*no answer within 300 ms/),
    });
    expect(checks.postgres).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(checks.redis!.status).toBe('fail');
    expect(checks['signing-keys']!.status).toBe('fail');
    // A local object folder is probed too, and the folders it made are removed again.
    expect(checks['object-store']!.status).toBe('pass');
    expect(existsSync(join(folder, 'objects-down'))).toBe(false);
  });

  it('fails object storage whose data keys another master key wrapped, as serve would', async () => {
    // A backup writes a data key wrapped by its data dir's generated master key…
    const models = join(folder, 'keys-models');
    mkdirSync(models);
    writeFileSync(join(models, 'a.bin'), 'weights');
    const objects = join(folder, 'keys-objects');
    const backup = await runCliCaptured(
      [
        'backup',
        'models',
        '--folder',
        models,
        '--data-dir',
        join(folder, 'keys-a'),
        '--config',
        configFile({ object_store: { folder: objects } }),
      ],
      { cwd: folder, env: {} },
    );
    expect(backup.code, backup.stderr).toBe(0);
    // …which another data dir's master key does not open.
    const other = await runCliCaptured(
      ['tokens', 'issue', '--principal', 'x', '--data-dir', join(folder, 'keys-b')],
      { cwd: folder, env: {} },
    );
    expect(other.code, other.stderr).toBe(0);
    const settings = {
      port: 0,
      data_dir: join(folder, 'keys-c'),
      object_store: { folder: objects },
      security: { master_key_file: join(folder, 'keys-b', 'master.key') },
    };
    const run = await doctor(['--config', configFile(settings), '--json']);
    expect(run.code).toBe(1);
    expect(byId(JSON.parse(run.stdout) as Report)['object-store']).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/data key \S+ does not decrypt under master key v1 of /),
    });
    // With the key that wrapped it, it passes.
    const right = {
      ...settings,
      security: { master_key_file: join(folder, 'keys-a', 'master.key') },
    };
    const passed = await doctor(['--config', configFile(right), '--json']);
    expect(byId(JSON.parse(passed.stdout) as Report)['object-store']).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('its data keys open'),
    });
  });

  it('fails a port in use and a rejected API key, naming them in the table', async () => {
    const busy = createServer();
    const port = await listen(busy);
    const run = await doctor([
      '--port',
      String(port),
      '--data-dir',
      join(folder, 'data-busy'),
      '--model-endpoint',
      endpoint,
      '--api-key',
      'sk-wrong',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`FAIL +Listen port +127\\.0\\.0\\.1:${port} is already in use`),
    );
    expect(run.stdout).toMatch(
      /FAIL +Model endpoint +HTTP: GET .*\/v1\/models: HTTP 401: API key rejected/,
    );
    expect(run.stdout).toMatch(/\d+ passed, \d+ warnings, 2 failed, \d+ skipped/);
  });

  it('warns on a clock 5 s off (--ntp-server) and fails a policy file with an error', async () => {
    const policies = join(folder, 'policies.yaml');
    writeFileSync(policies, 'version: 1\nstatements: nope\n');
    const run = await doctor([
      '--port',
      '0',
      '--data-dir',
      join(folder, 'data-clock'),
      '--ntp-server',
      `127.0.0.1:${ntpAheadPort}`,
      '--policies',
      policies,
      '--json',
    ]);
    const checks = byId(JSON.parse(run.stdout) as Report);
    expect(checks['clock-offset']!.status).toBe('warn');
    expect(Number(/offset \+([\d.]+) s/.exec(checks['clock-offset']!.detail)?.[1])).toBeCloseTo(
      5,
      1,
    );
    expect(checks['policy-file']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(policies),
    });
    expect(run.code).toBe(1);
  });

  it('fails a model file that is not GGUF; a bad configuration exits 2; a bad flag exits 2', async () => {
    const notModel = join(folder, 'models', 'fake.gguf');
    mkdirSync(join(folder, 'models'));
    writeFileSync(notModel, 'not a model at all');
    const run = await doctor(['--port', '0', '--model-path', join(folder, 'models'), '--json']);
    const checks = byId(JSON.parse(run.stdout) as Report);
    expect(checks['model-file']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('is not a GGUF file'),
    });
    expect(run.code).toBe(1);

    const bad = await doctor(['--config', configFile({ port: 'eighty' })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid configuration');
    expect((await doctor(['--timeout', 'soon'])).code).toBe(2);
    expect((await doctor(['--ntp-server', 'host:99999'])).code).toBe(2);
  });
});
