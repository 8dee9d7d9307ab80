import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate } from '../support/certificates.js';
import { Child, run, repoRoot, startServerProcess } from '../support/process.js';
import { expandArgs, lintDockerfile } from './dockerfile-rules.js';

// No Docker engine runs here: the image is linted and what can be checked without building it is
// checked — every path it copies exists, the entrypoint resolves to a working command, and the
// HEALTHCHECK command tells a live server from a dead one.
const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const runtime = dockerfile.getFROMs().at(-1)!;
const runtimeStart = runtime.getRange().start.line;
const inRuntime = (keyword: string) =>
  instructions.filter(
    (instruction) =>
      instruction.getKeyword() === keyword && instruction.getRange().start.line > runtimeStart,
  );
const argsOf = (keyword: string) => inRuntime(keyword).map((i) => i.getArgumentsContent() ?? '');
/** Every COPY: the stage it copies from (none: the build context), its sources, in which stage. */
const copies = dockerfile.getCOPYs().map((copy) => {
  const paths = copy.getArguments().map((argument) => argument.getValue());
  return {
    from: copy
      .getFlags()
      .find((flag) => flag.getName() === 'from')
      ?.getValue(),
    sources: paths.slice(0, -1),
    runtime: copy.getRange().start.line > runtimeStart,
  };
});

describe('Dockerfile', () => {
  it('passes the Dockerfile validator and the lint rules', () => {
    expect(validate(text)).toEqual([]);
    expect(lintDockerfile(text)).toEqual([]);
  });

  it('lint rules catch what they are for', () => {
    const rules = (source: string) => lintDockerfile(source).map((problem) => problem.rule);
    expect(rules('FROM node\nCMD node x\n')).toEqual(
      expect.arrayContaining(['DL3006', 'multi-stage', 'DL3002', 'DL3025']),
    );
    expect(rules('FROM node:latest AS a\nFROM a\nUSER root\nADD x /x\n')).toEqual(
      expect.arrayContaining(['DL3007', 'DL3002', 'DL3020']),
    );
    expect(rules('FROM node:20 AS a\nFROM node:20\nRUN apt-get install -y g++\nUSER 1\n')).toEqual([
      'DL3015',
      'DL3009',
    ]);
  });

  it('is multi-stage, with a pinned base and no build toolchain in the runtime stage', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.map((from) => from.getBuildStage())).toEqual(['build', 'runtime']);
    const base = expandArgs(dockerfile, froms[1]!.getArgumentsContent()!.split(' ')[0]!);
    expect(base).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    expect(argsOf('RUN').join('\n')).not.toMatch(/apt-get|g\+\+|npm (ci|install)/);
  });

  it('runs as a non-root user, exposes 18789, checks /health and declares the volumes', () => {
    expect(argsOf('USER')).toEqual(['10001:10001']);
    expect(argsOf('EXPOSE')).toEqual(['18789']);
    expect(JSON.parse(argsOf('VOLUME')[0]!)).toEqual(
      expect.arrayContaining(['/opt/models', '/var/log/assistd']),
    );
    expect(argsOf('HEALTHCHECK')[0]).toContain('/opt/assistant/dist/healthcheck.js');
    // Written by the server, so owned by its user: with a read-only root these are the volumes.
    expect(argsOf('RUN').join('\n')).toMatch(
      /chown assistd:assistd \/var\/log\/assistd \/var\/lib\/assistd/,
    );
    const env = argsOf('ENV').join(' ');
    expect(env).toContain('ASSISTD_DATA_DIR=/var/lib/assistd');
    expect(env).toContain('PATH=/opt/assistant/bin:');
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8');
    const included = ignore
      .split('\n')
      .filter((entry) => entry.startsWith('!'))
      .map((entry) => entry.slice(1).replace(/\/$/, ''));
    const fromContext = copies.filter((copy) => copy.from === undefined);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const copy of fromContext) {
      for (const source of copy.sources) {
        expect(existsSync(join(repoRoot, source)), source).toBe(true);
        expect(included, source).toContain(source);
      }
    }
  });

  it('copies from the build stage what its steps produce', () => {
    const runtimeCopies = copies.filter((copy) => copy.runtime);
    expect(runtimeCopies.every((copy) => copy.from === 'build')).toBe(true);
    expect(runtimeCopies.flatMap((copy) => copy.sources)).toEqual([
      '/src/package.json',
      '/src/node_modules',
      '/src/dist',
    ]);
    // `npm ci` in the build stage runs `prepare`, which compiles into dist/.
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.build.json');
    // …and the console into dist/console (web/vite.config.ts's outDir).
    expect(pkg.scripts.build).toContain('vite build --config web/vite.config.ts');
    expect(readFileSync(join(repoRoot, 'web/vite.config.ts'), 'utf8')).toContain(
      "outDir: '../dist/console'",
    );
    const build = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string };
    };
    expect(build.compilerOptions.outDir).toBe('dist');
    expect(pkg.bin['init-service']).toBe('dist/init-service.js');
  });
});

describe('the image entrypoint, laid out as the Dockerfile lays it out', () => {
  let root: string;
  beforeAll(() => {
    // /opt/assistant with the build output, then the Dockerfile's own `ln -s` lines.
    root = mkdtempSync(join(tmpdir(), 'assistd-image-'));
    const app = join(root, 'opt/assistant');
    mkdirSync(join(app, 'bin'), { recursive: true });
    for (const name of ['dist', 'node_modules', 'package.json']) {
      symlinkSync(join(repoRoot, name), join(app, name));
    }
    const links = argsOf('RUN')
      .join('\n')
      .matchAll(/ln -s (\S+) (\S+)/g);
    for (const [, target, path] of links) symlinkSync(target!, join(root, path!));
  });

  it('init-service and assistd are on the image PATH and run', async () => {
    const path = /PATH=(\S+)/.exec(argsOf('ENV').join(' '))![1]!.replace('${PATH}', '');
    const bin = join(root, path.split(':')[0]!);
    const entrypoint = JSON.parse(argsOf('ENTRYPOINT')[0]!) as string[];
    expect(entrypoint).toEqual(['init-service']);
    chmodSync(resolve(bin, 'init-service'), 0o755);
    const help = await run(join(bin, 'init-service'), ['--help'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--model-endpoint');
    expect((await run(join(bin, 'assistd'), ['--version'])).stdout.trim()).toBe('0.1.0');
    // The path the runbook uses.
    expect(existsSync(join(root, 'opt/assistant/bin/init-service'))).toBe(true);
  });
});

describe('the HEALTHCHECK command', () => {
  let server: Child;
  let port: string;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-health-'));
    const started = await startServerProcess(['--port', '0', '--data-dir', dataDir]);
    server = started.child;
    port = new URL(started.url).port;
  });
  let tlsServer: Child | undefined;
  // Also when a test times out, so no server outlives the run.
  afterAll(() => {
    server?.kill('SIGKILL');
    tlsServer?.kill('SIGKILL');
  });

  const healthcheck = JSON.parse(
    /CMD\s+(\[.*\])/.exec(argsOf('HEALTHCHECK')[0]!)![1]!.replace('/opt/assistant/', repoRoot),
  ) as string[];
  const check = (env: NodeJS.ProcessEnv) =>
    run(healthcheck[0] === 'node' ? process.execPath : healthcheck[0]!, healthcheck.slice(1), {
      env: { ...process.env, ...env },
    });

  it('exits 0 when /health answers and 1 when nothing listens', async () => {
    expect((await check({ ASSISTD_PORT: port })).code).toBe(0);
    const dead = await check({ ASSISTD_PORT: '1' });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain(
      'not healthy at http://127.0.0.1:1/health or https://127.0.0.1:1/health',
    );
    const wrongPath = await check({ ASSISTD_HEALTHCHECK_URL: `http://127.0.0.1:${port}/nope` });
    expect(wrongPath.code).toBe(1);
  });

  it('finds a TLS server configured in the config file, which the script does not read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'assistd-health-tls-'));
    const certificate = makeCertificate(dir, 'localhost');
    const tls = Child.spawn(process.execPath, [
      join(repoRoot, 'dist/main.js'),
      'serve',
      '--port',
      '0',
      '--data-dir',
      join(dir, 'data'),
      '--tls-cert',
      certificate.certFile,
      '--tls-key',
      certificate.keyFile,
    ]);
    tlsServer = tls;
    const match = await tls.waitFor(/"url":"https:\/\/127\.0\.0\.1:(\d+)"/);
    expect((await check({ ASSISTD_PORT: match[1]! })).code).toBe(0);
  });
});
