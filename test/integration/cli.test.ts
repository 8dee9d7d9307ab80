import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/providers/tiny-model/tiny-model.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { Child, assistdBin, initServiceBin, run } from '../support/process.js';

let upstream: FakeUpstream;
const apiKey = 'sk-live-OPERATOR-KEY-9f8e7d';
const children: Child[] = [];

beforeAll(async () => {
  upstream = await FakeUpstream.start();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await upstream.close();
});

async function waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
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

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'assistd-cli-'));
}

function spawnServer(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Child {
  const child = Child.spawn(process.execPath, [assistdBin, 'serve', ...args], {
    cwd,
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

describe('the operator’s deployment script', () => {
  it('starts the service and answers the curl lines as written', async () => {
    const root = workdir();
    mkdirSync(join(root, 'secrets'));
    writeFileSync(join(root, 'secrets', 'api_key.txt'), `${apiKey}\n`);
    mkdirSync(join(root, 'models', 'llama3-7b'), { recursive: true });
    await writeTinyModel(join(root, 'models', 'llama3-7b', 'llama3-7b-q8_0.gguf'));
    mkdirSync(join(root, 'bin'));
    symlinkSync(initServiceBin, join(root, 'bin', 'init-service'));
    chmodSync(initServiceBin, 0o755);
    // The script from the issue, with only paths and hosts changed (and a free port, so the
    // test never collides with a server already on 18789).
    const port = await freePort();
    const script = [
      `export MODEL_ENDPOINT=${upstream.url}`,
      `export API_KEY=$(cat ${root}/secrets/api_key.txt)`,
      `init-service --model-path ${root}/models/llama3-7b --api-key $API_KEY --port ${port} --log-level info`,
    ].join('\n');
    const server = Child.spawn('bash', ['-c', script], {
      cwd: root,
      env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` },
      detached: true,
    });
    children.push(server);
    try {
      const [, token] = await server.waitFor(/^\s+(asd_\S+)$/m);
      await server.waitFor(/assistd listening/);

      const head = await run('curl', ['-sI', `http://127.0.0.1:${port}/health`]);
      expect(head.stdout).toMatch(/^HTTP\/1.1 200 OK/);

      const chat = await run('curl', [
        '-s',
        `http://127.0.0.1:${port}/v1/chat`,
        '-H',
        `Authorization: Bearer ${token}`,
        '-d',
        '{"messages":[{"role":"user","content":"你好"}],"temperature":0.7}',
      ]);
      expect(JSON.parse(chat.stdout)).toMatchObject({
        message: { role: 'assistant', content: '你好！有什么可以帮你的吗？' },
        model: 'gpt-4o-mini',
        finish_reason: 'stop',
      });
      expect(upstream.chatRequests.at(-1)!.headers.authorization).toBe(`Bearer ${apiKey}`);

      // A token issued offline against the same data dir works at once.
      const issued = await run(
        process.execPath,
        [assistdBin, 'tokens', 'issue', '--principal', 'dev@example.com'],
        { cwd: root },
      );
      expect(issued.code).toBe(0);
      expect(issued.stderr).toContain('for "dev@example.com"');
      const models = await run('curl', [
        '-s',
        `http://127.0.0.1:${port}/v1/models`,
        '-H',
        `Authorization: Bearer ${issued.stdout.trim()}`,
      ]);
      expect(JSON.parse(models.stdout)).toMatchObject({
        data: [
          { id: 'gpt-4o-mini', default: true },
          { id: 'llama3-7b', available: true, owned_by: 'llama-cpp' },
        ],
      });

      const output = server.stdout + server.stderr;
      expect(output).toContain('--api-key leaves the key visible');
      expect(output).not.toContain(apiKey);
      // The admin token appears once, in the announcement, and never in a log line.
      expect(output.split(token!).length - 1).toBe(1);
    } finally {
      process.kill(-server.process.pid!, 'SIGTERM');
      await server.exited;
    }
  });

  it('does not create a second administrator token on restart', async () => {
    const root = workdir();
    const port = await freePort();
    const first = spawnServer(['--port', String(port)], root);
    await first.waitFor(/assistd listening/);
    expect(first.stdout).toContain('created the first administrator token');
    first.kill();
    expect((await first.exited).code).toBe(0);
    const second = spawnServer(['--port', String(port)], root);
    await second.waitFor(/assistd listening/);
    expect(second.stdout).not.toContain('administrator token');
    second.kill();
    await second.exited;
    // Two starts on embedded defaults, each allowed 15 s by waitFor, and a shutdown.
  }, 45_000);
});

describe('graceful shutdown on SIGTERM', () => {
  async function startDraining(grace: number, gapMs: number) {
    const root = workdir();
    writeFileSync(
      join(root, 'assistd.yaml'),
      `shutdown_grace_seconds: ${grace}\nupstream:\n  model: gpt-4o-mini\n`,
    );
    const server = spawnServer(
      ['--config', 'assistd.yaml', '--port', '0', '--model-endpoint', upstream.url],
      root,
    );
    const [, token] = await server.waitFor(/^\s+(asd_\S+)$/m);
    const [, origin] = await server.waitFor(/"url":"(http:\/\/[^"]+)"/);
    const client = new Client(origin!, { keepAliveTimeout: 60_000 });
    expect((await client.request({ method: 'GET', path: '/health' })).statusCode).toBe(200);

    upstream.enqueue({ kind: 'sse', fixture: 'stream.sse', gapMs });
    const response = await fetch(`${origin}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '你好' }], stream: true }),
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('event: delta'))
      text += new TextDecoder().decode((await reader.read()).value);
    server.kill('SIGTERM');
    await server.waitFor(/"msg":"draining"/);
    const readDrain = async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return text;
        text += new TextDecoder().decode(chunk.value);
      }
    };
    return { server, client, origin: origin!, readDrain };
  }

  it('fails readiness, lets the stream finish, closes idle sockets and exits 0', async () => {
    const { server, client, origin, readDrain } = await startDraining(10, 250);
    const ready = await client.request({ method: 'GET', path: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(await ready.body.json()).toMatchObject({ status: 'draining' });
    // New connections are still accepted, so callers get a clear 503 rather than a refusal.
    const refused = await fetch(`${origin}/v1/models`, { headers: { authorization: 'Bearer x' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'shutting_down' } });
    const text = await readDrain();
    expect(text).toContain('event: done');
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    expect(server.stdout).toContain('assistd stopped');
    await client.close();
  });

  it('cuts streams at the grace deadline, storing the partial answer, and still exits 0', async () => {
    const { server, client, readDrain } = await startDraining(1, 1500);
    const text = await readDrain();
    expect(text).toContain('event: error');
    expect(text).toContain('"code":"shutting_down"');
    expect((await server.exited).code).toBe(0);
    expect(server.stdout).toContain('grace period over');
    await client.close().catch(() => undefined);
  });
});

describe('CLI errors and help', () => {
  it('refuses a model path that does not exist', async () => {
    const result = await run(
      process.execPath,
      [initServiceBin, '--model-path', '/opt/models/nope', '--port', '0'],
      { cwd: workdir() },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('assistd: model path /opt/models/nope does not exist');
  });

  it('refuses a truncated model file and one past the memory limit, naming the file', async () => {
    const root = workdir();
    const file = join(root, 'cut.gguf');
    await writeTinyModel(file);
    truncateSync(file, statSync(file).size - 100);
    const cut = await run(process.execPath, [initServiceBin, '--model-path', file, '--port', '0'], {
      cwd: root,
    });
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(new RegExp(`assistd: model file ${file} is truncated`));

    const whole = join(root, 'whole.gguf');
    await writeTinyModel(whole);
    writeFileSync(join(root, 'small.yaml'), 'local_model:\n  memory_limit_mb: 1\n');
    const big = await run(
      process.execPath,
      [initServiceBin, '--model-path', whole, '--config', 'small.yaml', '--max-batch-size', '64'],
      { cwd: root },
    );
    expect(big.code).toBe(2);
    expect(big.stderr).toContain(`model ${whole} needs about`);
    expect(big.stderr).toContain('more than the memory limit of 1 MiB');
  });

  it('refuses a bad config file, naming the key', async () => {
    const root = workdir();
    writeFileSync(join(root, 'bad.yaml'), 'prot: 80\n');
    const result = await run(process.execPath, [assistdBin, 'serve', '--config', 'bad.yaml'], {
      cwd: root,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unrecognized key: "prot"');
  });

  it('refuses a port already in use', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    const result = await run(process.execPath, [assistdBin, 'serve', '--port', String(port)], {
      cwd: workdir(),
    });
    blocker.close();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the port is already in use');
  });

  it('writes its log to --log-file, reopens it on SIGHUP, and refuses a path it cannot write', async () => {
    const root = workdir();
    const log = join(root, 'assistd.log');
    const child = Child.spawn(
      process.execPath,
      [assistdBin, 'serve', '--port', '0', '--log-file', log],
      {
        cwd: root,
      },
    );
    children.push(child);
    const read = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    await waitUntil(() => read().includes('assistd listening'));
    expect(child.stdout).not.toContain('assistd listening');
    renameSync(log, `${log}.1`);
    child.kill('SIGHUP');
    await waitUntil(() => read().includes('SIGHUP: reloading'));
    expect(readFileSync(`${log}.1`, 'utf8')).not.toContain('SIGHUP');
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    const refused = await run(
      process.execPath,
      [assistdBin, 'serve', '--port', '0', '--log-file', join(root, 'missing', 'x.log')],
      { cwd: root },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`cannot write the log file ${join(root, 'missing', 'x.log')}`);
  });

  it('refuses a data dir it cannot use and a database that is not one, naming them, with no stack trace', async () => {
    const root = workdir();
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    const onFile = await run(
      process.execPath,
      [assistdBin, 'serve', '--port', '0', '--data-dir', file],
      {
        cwd: root,
      },
    );
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toContain(`the data dir ${file} cannot be used: ${file} is a file`);
    expect(onFile.stderr).not.toMatch(/\n\s+at /);

    const data = join(root, 'data');
    mkdirSync(data, { mode: 0o700 });
    const garbage = randomBytes(100_000);
    writeFileSync(join(data, 'assistd.db'), garbage);
    for (const args of [
      ['serve', '--port', '0'],
      ['tokens', 'list'],
    ]) {
      const result = await run(process.execPath, [assistdBin, ...args, '--data-dir', data], {
        cwd: root,
      });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(
        `${join(data, 'assistd.db')} is not a usable SQLite database`,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    // Left exactly as it was.
    expect(readFileSync(join(data, 'assistd.db')).equals(garbage)).toBe(true);

    const render = await run(process.execPath, [assistdBin, 'deploy', 'render', '--out', file], {
      cwd: root,
    });
    expect(render.code).toBe(2);
    expect(render.stderr).toContain(`the manifest folder ${file} cannot be used`);
  });

  it('says in one line which database or master key it cannot use, and prints no admin token', async () => {
    const root = workdir();
    const serve = (...args: string[]) =>
      run(
        process.execPath,
        [assistdBin, 'serve', '--port', '0', '--tls-terminated-by-proxy', ...args],
        { cwd: root, env: { ...process.env, ASSISTD_MASTER_KEY_FILE: join(root, 'none.key') } },
      );
    const cases: Array<[string[], number, RegExp]> = [
      [['--data-dir', join(root, 'a')], 2, /^assistd: cannot read master key file .*none\.key/],
      [
        ['--data-dir', join(root, 'b'), '--database-url', 'postgres://nouser@127.0.0.1:5432/test'],
        2,
        /^assistd: PostgreSQL refused the login; check the user in database\.url/,
      ],
      [
        ['--data-dir', join(root, 'c'), '--database-url', 'postgres://postgres@127.0.0.1:1/test'],
        1,
        /^assistd: PostgreSQL is unavailable: connect ECONNREFUSED .*; check database\.url/,
      ],
      [
        [
          '--data-dir',
          join(root, 'd'),
          '--database-url',
          'postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full',
        ],
        2,
        // Which one depends on the server's ssl setting; both name what to change.
        /^assistd: PostgreSQL (does not accept TLS connections|'s TLS certificate is not trusted)/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const started = await serve(...args);
      expect(started.code, started.stderr).toBe(code);
      const last = started.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(message);
      expect(started.stderr).not.toContain('unexpected error');
      expect(started.stdout + started.stderr).not.toMatch(/asd_[0-9a-f]{16}_/);
    }
  });

  it('writes a process warning (pg on sslmode=require) as one JSON log line, not plain lines', async () => {
    const root = workdir();
    const started = await run(
      process.execPath,
      [
        assistdBin,
        'serve',
        '--port',
        '0',
        '--data-dir',
        join(root, 'w'),
        '--database-url',
        'postgres://postgres@127.0.0.1:5432/test?sslmode=require',
      ],
      { cwd: root },
    );
    const output = `${started.stdout}\n${started.stderr}`;
    expect(output).not.toMatch(/^\(node:\d+\)|^In the next major version/m);
    const warning = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; warning?: string; msg: string })
      .find((line) => line.warning !== undefined);
    expect(warning).toMatchObject({ level: 40, warning: 'Warning' });
    expect(warning!.msg).toContain("SSL modes 'prefer', 'require', and 'verify-ca'");
  });

  it('stops quietly when the reader of its output goes away (| head -1)', async () => {
    const root = workdir();
    const data = join(root, 'piped');
    for (const principal of ['a@example.com', 'b@example.com']) {
      const issued = await run(
        process.execPath,
        [assistdBin, 'tokens', 'issue', '--principal', principal, '--data-dir', data],
        { cwd: root },
      );
      expect(issued.code).toBe(0);
    }
    const child = spawn(
      process.execPath,
      [assistdBin, 'audit', 'tail', '-n', '100', '--data-dir', data],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.destroy(); // the reader is gone before the first line
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it('refuses a host it cannot listen on', async () => {
    for (const [host, why] of [
      ['192.0.2.1', 'that address is not one of this machine'],
      ['not a host!', 'the host name does not resolve'],
    ]) {
      const result = await run(
        process.execPath,
        [assistdBin, 'serve', '--port', '0', '--host', host!, '--tls-terminated-by-proxy'],
        { cwd: workdir() },
      );
      expect(result.code, host).toBe(2);
      expect(result.stderr).toContain(`cannot listen on ${host}:0: ${why}`);
    }
  });

  it('says in one line, in a process of its own, that an S3 store cannot be reached', async () => {
    const root = workdir();
    writeFileSync(join(root, 'secret'), 'y', { mode: 0o600 });
    writeFileSync(
      join(root, 's3.yaml'),
      'object_store:\n  s3:\n    bucket: nowhere\n    endpoint: http://127.0.0.1:9\n' +
        `    access_key_id: x\n    secret_access_key_file: ${join(root, 'secret')}\n`,
    );
    const listed = await run(
      process.execPath,
      [assistdBin, 'backup', 'list', '--config', join(root, 's3.yaml'), '--data-dir', root],
      { cwd: root },
    );
    expect(listed.code).toBe(1);
    // No nine-line warning of the AWS SDK about Node.js 20 before it.
    expect(listed.stderr.trim().split('\n'), listed.stderr).toEqual([
      expect.stringMatching(/^assistd: the object store cannot be reached \(ECONNREFUSED/),
    ]);
  });

  it('prints only the token on stdout; warnings go to stderr', async () => {
    const root = workdir();
    const data = join(root, 'open-data');
    mkdirSync(data);
    chmodSync(data, 0o755);
    const issued = await run(
      process.execPath,
      [assistdBin, 'tokens', 'issue', '--principal', 'script@example.com', '--data-dir', data],
      { cwd: root },
    );
    expect(issued.code).toBe(0);
    expect(issued.stderr).toContain('not mode 0700');
    expect(issued.stdout.trim().split('\n')).toHaveLength(1);
    expect(issued.stdout.trim().split('.')).toHaveLength(3);
    // A data dir nobody used before is said to be new (a mistyped --data-dir would otherwise
    // give a token no server accepts, silently); the next command there says nothing of it.
    expect(issued.stderr).toContain(`assistd: note: ${data} held no assistd data`);
    const again = await run(
      process.execPath,
      [assistdBin, 'tokens', 'issue', '--principal', 'script@example.com', '--data-dir', data],
      { cwd: root },
    );
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('held no assistd data');
  });

  it('checks token flags', async () => {
    const missing = await run(process.execPath, [assistdBin, 'tokens', 'issue'], {
      cwd: workdir(),
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--principal <name>' not specified");
    const ttl = await run(
      process.execPath,
      [assistdBin, 'tokens', 'issue', '--principal', 'a', '--ttl', 'forever'],
      { cwd: workdir() },
    );
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('--ttl "forever" is not a duration');
  });

  it.each([
    [['--help']],
    [['serve', '--help']],
    [['tokens', '--help']],
    [['tokens', 'issue', '--help']],
  ])('prints help: %j', async (args) => {
    const result = await run(process.execPath, [assistdBin, ...args]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: assistd');
  });

  it('prints help for init-service', async () => {
    const result = await run(process.execPath, [initServiceBin, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--model-endpoint <url>');
  });
});
