import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server } from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, replaceFile } from '../../test/support/certificates.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { StartupError } from '../providers/startup-error.js';
import {
  checkCertificatePair,
  openTls,
  readCertificatePair,
  TlsCertificates,
  tlsServerOptions,
  TlsPairError,
  type TlsReloadEvent,
} from './tls.js';
import { captureLogs } from '../../test/support/log-capture.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-tls-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const alpha = makeCertificate(folder, 'alpha');
const beta = makeCertificate(folder, 'beta');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

let servingNumber = 0;
/** A folder with `tls.crt` / `tls.key` holding `alpha`, as a server would be configured. */
function servingFolder() {
  const directory = join(folder, `serving-${++servingNumber}`);
  mkdirSync(directory);
  const certFile = join(directory, 'tls.crt');
  const keyFile = join(directory, 'tls.key');
  copyFileSync(alpha.certFile, certFile);
  copyFileSync(alpha.keyFile, keyFile);
  return { certFile, keyFile };
}

/** A bare TLS server (echoes one line) with the certificates attached. */
async function listen(certificates: TlsCertificates): Promise<number> {
  const server: Server = createServer(certificates.serverOptions(), (socket) => {
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('error', () => {});
  });
  certificates.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    certificates.close();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Completes a handshake and reports what was negotiated; rejects when the server refuses. */
function handshake(
  port: number,
  options: ConnectionOptions = {},
): Promise<{
  protocol: string | null;
  fingerprint256: string;
  socket: ReturnType<typeof connect>;
}> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () =>
      resolve({
        protocol: socket.getProtocol(),
        fingerprint256: socket.getPeerCertificate().fingerprint256,
        socket,
      }),
    );
    socket.once('error', reject);
  });
}

async function fingerprintOf(port: number): Promise<string> {
  const { fingerprint256, socket } = await handshake(port);
  socket.destroy();
  return fingerprint256;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function config(input: Partial<ConfigInput>) {
  return configSchema.parse({ data_dir: folder, ...input });
}

describe('tlsServerOptions', () => {
  it('always carries the TLS 1.3 floor', () => {
    expect(tlsServerOptions({ cert: alpha.cert, key: alpha.key })).toEqual({
      cert: alpha.cert,
      key: alpha.key,
      minVersion: 'TLSv1.3',
    });
  });
});

describe('checking a certificate pair', () => {
  const files = { certFile: '/etc/tls/c.pem', keyFile: '/etc/tls/k.pem' };

  it('accepts a matching pair and reports its fingerprint, subject and expiry', async () => {
    const pair = await readCertificatePair({ certFile: alpha.certFile, keyFile: alpha.keyFile });
    expect(pair.fingerprint256).toBe(alpha.fingerprint256);
    expect(pair.subject).toContain('CN=localhost');
    expect(pair.validTo).toBeGreaterThan(Date.now() + 3_600_000);
    expect(pair.validTo).toBeLessThan(Date.now() + 2 * 86_400_000);
  });

  it.each([
    [
      'a key of another certificate',
      { cert: alpha.cert, key: beta.key },
      'mismatch',
      /k\.pem does not belong to the certificate \/etc\/tls\/c\.pem/,
    ],
    [
      'no certificate',
      { cert: Buffer.from('hello'), key: alpha.key },
      'invalid-certificate',
      /c\.pem holds no PEM certificate/,
    ],
    [
      'a certificate where the key goes',
      { cert: alpha.cert, key: alpha.cert },
      'invalid-key',
      /k\.pem holds no PEM private key/,
    ],
  ] as const)('refuses %s, naming the file', (_name, pair, problem, message) => {
    const attempt = () => checkCertificatePair({ ...files, ...pair });
    expect(attempt).toThrow(TlsPairError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as TlsPairError).problem).toBe(problem);
    }
  });

  it('refuses an encrypted key with what to do', () => {
    const encrypted = execFileSync('openssl', [
      'pkey',
      '-in',
      alpha.keyFile,
      '-aes256',
      '-passout',
      'pass:secret',
    ]);
    expect(() => checkCertificatePair({ ...files, cert: alpha.cert, key: encrypted })).toThrow(
      /k\.pem is encrypted; give the server an unencrypted key/,
    );
  });

  it('refuses an expired certificate', () => {
    const later = Date.now() + 3 * 86_400_000;
    expect(() => checkCertificatePair({ ...alpha, ...files }, later)).toThrow(
      /c\.pem expired on 20/,
    );
  });

  it('says which file cannot be read', async () => {
    await expect(
      readCertificatePair({ certFile: alpha.certFile, keyFile: join(folder, 'missing.key') }),
    ).rejects.toThrow(/cannot read TLS key .*missing\.key: no such file/);
  });
});

describe('TlsCertificates', () => {
  it('serves TLS 1.3 only, before and after a reload, and new handshakes get the new pair', async () => {
    const files = servingFolder();
    const { logger } = captureLogs();
    const certificates = await TlsCertificates.load({ ...files, logger, watch: false });
    const port = await listen(certificates);

    const first = await handshake(port);
    expect(first.protocol).toBe('TLSv1.3');
    expect(first.fingerprint256).toBe(alpha.fingerprint256);
    await expect(handshake(port, { maxVersion: 'TLSv1.2' })).rejects.toThrow();

    replaceFile(files.certFile, beta.cert);
    replaceFile(files.keyFile, beta.key);
    const event = await certificates.reload();
    expect(event).toMatchObject({ type: 'loaded', fingerprint256: beta.fingerprint256 });
    expect(certificates.current.fingerprint256).toBe(beta.fingerprint256);

    const second = await handshake(port);
    expect(second.protocol).toBe('TLSv1.3');
    expect(second.fingerprint256).toBe(beta.fingerprint256);
    await expect(handshake(port, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    await expect(
      handshake(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }),
    ).rejects.toThrow();

    // The connection opened before the reload still works, on the old certificate.
    const echoed = new Promise<string>((resolve) =>
      first.socket.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    first.socket.write('still here');
    expect(await echoed).toBe('still here');
    expect(first.socket.getPeerCertificate().fingerprint256).toBe(alpha.fingerprint256);
    first.socket.destroy();
    second.socket.destroy();

    expect(await certificates.reload()).toMatchObject({ type: 'unchanged' });
  });

  it('keeps the current pair when the new one is invalid, and logs why', async () => {
    const files = servingFolder();
    const { logger, lines } = captureLogs();
    const certificates = await TlsCertificates.load({ ...files, logger, watch: false });
    const port = await listen(certificates);

    replaceFile(files.keyFile, beta.key);
    const mismatch = await certificates.reload();
    expect(mismatch).toMatchObject({
      type: 'rejected',
      keptFingerprint256: alpha.fingerprint256,
      error: { problem: 'mismatch' },
    });
    replaceFile(files.certFile, 'not a certificate');
    expect(await certificates.reload()).toMatchObject({
      type: 'rejected',
      error: { problem: 'invalid-certificate' },
    });

    expect(await fingerprintOf(port)).toBe(alpha.fingerprint256);
    await expect(handshake(port, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    const errors = lines.filter((line) => line.level === 50).map((line) => line.msg);
    expect(errors).toEqual([
      expect.stringMatching(
        /tls\.key does not belong to the certificate .*current certificate stays/,
      ),
      expect.stringMatching(/tls\.crt holds no PEM certificate/),
    ]);
  });

  it('reloads on file change, waiting until both halves of a renewal are in place', async () => {
    const files = servingFolder();
    const { logger, lines } = captureLogs();
    const events: TlsReloadEvent[] = [];
    const certificates = await TlsCertificates.load({
      ...files,
      logger,
      debounceMs: 50,
      onReload: (event) => events.push(event),
    });
    const port = await listen(certificates);

    // The renewal tool writes the certificate first…
    replaceFile(files.certFile, beta.cert);
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({ type: 'rejected', error: { problem: 'mismatch' } });
    expect(lines.some((line) => line.level === 40 && /waiting for both files/.test(line.msg))).toBe(
      true,
    );
    expect(await fingerprintOf(port)).toBe(alpha.fingerprint256);

    // …then the key: now the pair matches and is swapped in.
    replaceFile(files.keyFile, beta.key);
    await until(() => certificates.current.fingerprint256 === beta.fingerprint256);
    expect(await fingerprintOf(port)).toBe(beta.fingerprint256);
    await expect(handshake(port, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('follows a Kubernetes Secret update (the ..data symlink swap)', async () => {
    const directory = join(folder, 'secret-volume');
    mkdirSync(join(directory, '..v1'), { recursive: true });
    copyFileSync(alpha.certFile, join(directory, '..v1', 'tls.crt'));
    copyFileSync(alpha.keyFile, join(directory, '..v1', 'tls.key'));
    execFileSync('ln', ['-s', '..v1', join(directory, '..data')]);
    execFileSync('ln', ['-s', '..data/tls.crt', join(directory, 'tls.crt')]);
    execFileSync('ln', ['-s', '..data/tls.key', join(directory, 'tls.key')]);
    const { logger } = captureLogs();
    const certificates = await TlsCertificates.load({
      certFile: join(directory, 'tls.crt'),
      keyFile: join(directory, 'tls.key'),
      logger,
      debounceMs: 50,
    });
    const port = await listen(certificates);

    mkdirSync(join(directory, '..v2'));
    copyFileSync(beta.certFile, join(directory, '..v2', 'tls.crt'));
    copyFileSync(beta.keyFile, join(directory, '..v2', 'tls.key'));
    execFileSync('ln', ['-s', '..v2', join(directory, '..data_tmp')]);
    execFileSync('mv', ['-T', join(directory, '..data_tmp'), join(directory, '..data')]);

    await until(() => certificates.current.fingerprint256 === beta.fingerprint256);
    expect(await fingerprintOf(port)).toBe(beta.fingerprint256);
  });
});

describe('openTls', () => {
  it('is plain HTTP without certificate files', async () => {
    expect(await openTls(config({}), captureLogs().logger)).toBeUndefined();
  });

  it('makes a bad pair a start-up error naming the file', async () => {
    const attempt = openTls(
      config({ tls: { cert_file: alpha.certFile, key_file: beta.keyFile } }),
      captureLogs().logger,
    );
    await expect(attempt).rejects.toThrow(StartupError);
    await expect(attempt).rejects.toThrow(`TLS key ${beta.keyFile} does not belong`);
  });
});

describe('TLS configuration', () => {
  it('takes the flags, resolving paths', () => {
    const loaded = loadConfig({
      flags: { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsTerminatedByProxy: true },
      cwd: '/srv',
    });
    expect(loaded.tls).toEqual({
      cert_file: '/srv/c.pem',
      key_file: '/srv/k.pem',
      terminated_by_proxy: true,
    });
  });

  it('takes the environment', () => {
    const loaded = loadConfig({
      env: {
        ASSISTD_TLS_CERT_FILE: '/etc/tls/c.pem',
        ASSISTD_TLS_KEY_FILE: '/etc/tls/k.pem',
        ASSISTD_TLS_TERMINATED_BY_PROXY: 'true',
      },
    });
    expect(loaded.tls).toEqual({
      cert_file: '/etc/tls/c.pem',
      key_file: '/etc/tls/k.pem',
      terminated_by_proxy: true,
    });
    expect(loadConfig({ env: { ASSISTD_TLS_TERMINATED_BY_PROXY: '0' } }).tls).toEqual({
      terminated_by_proxy: false,
    });
    expect(() => loadConfig({ env: { ASSISTD_TLS_TERMINATED_BY_PROXY: 'yes' } })).toThrow(
      ConfigError,
    );
  });

  it('defaults to plain HTTP with no proxy claimed', () => {
    expect(loadConfig({}).tls).toEqual({ terminated_by_proxy: false });
  });

  it('needs the certificate and the key together', () => {
    const configFile = join(folder, 'half.yaml');
    writeFileSync(configFile, 'tls:\n  cert_file: /etc/tls/c.pem\n');
    expect(() => loadConfig({ flags: { config: configFile } })).toThrow(
      /tls\.cert_file and tls\.key_file go together/,
    );
  });
});
