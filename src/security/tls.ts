import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext, Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { StartupError } from '../providers/startup-error.js';
import type { Clock } from '../util/ids.js';
import { SerialRunner } from '../util/serial-runner.js';
import { watchFiles } from '../util/watch-files.js';

/**
 * The protocol floor, at start and after every reload: TLS 1.2 and older clients are refused
 * during the handshake.
 */
export const tlsMinVersion = 'TLSv1.3';

/** Certificate and key files larger than this are refused before they are read. */
const maxPemBytes = 1024 * 1024;

/**
 * Everything the TLS server is configured with. Built only by `tlsServerOptions`, so the start-up
 * options and every reload carry the same floor: `server.setSecureContext({ key, cert })` without
 * `minVersion` silently re-admitted TLS 1.2.
 */
export interface TlsServerOptions {
  key: Buffer;
  cert: Buffer;
  minVersion: typeof tlsMinVersion;
}

export function tlsServerOptions(pair: { key: Buffer; cert: Buffer }): TlsServerOptions {
  return { key: pair.key, cert: pair.cert, minVersion: tlsMinVersion };
}

/** A certificate with the private key that belongs to it, checked and ready to serve. */
export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, colon-separated hex (as OpenSSL prints it). */
  fingerprint256: string;
  subject: string;
  /** End of validity, milliseconds since the epoch. */
  validTo: number;
  /** SHA-256 of both files' bytes: an unchanged pair is not swapped in again. */
  digest: string;
}

export type TlsPairProblem =
  'unreadable' | 'invalid-certificate' | 'invalid-key' | 'mismatch' | 'expired' | 'refused';

/** Why a certificate pair cannot be served; the message names the file at fault. */
export class TlsPairError extends Error {
  constructor(
    readonly problem: TlsPairProblem,
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TlsPairError';
  }
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** Reads and checks a pair; throws `TlsPairError` naming the file at fault. */
export async function readCertificatePair(
  files: CertificateFiles,
  now: number = Date.now(),
): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([
    readPem(files.certFile, 'TLS certificate'),
    readPem(files.keyFile, 'TLS key'),
  ]);
  return checkCertificatePair({ ...files, cert, key }, now);
}

/**
 * Checks that `cert` holds a certificate that has not expired, `key` an unencrypted private key,
 * that the key belongs to the certificate, and that OpenSSL accepts the two with the TLS 1.3
 * options.
 */
export function checkCertificatePair(
  pair: CertificateFiles & { cert: Buffer; key: Buffer },
  now: number = Date.now(),
): CertificatePair {
  const { certFile, keyFile, cert, key } = pair;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TlsPairError(
      'invalid-certificate',
      certFile,
      `TLS certificate ${certFile} holds no PEM certificate (${reasonOf(error)})`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const text = key.toString('latin1');
    const encrypted =
      text.includes('ENCRYPTED PRIVATE KEY') || text.includes('Proc-Type: 4,ENCRYPTED');
    throw new TlsPairError(
      'invalid-key',
      keyFile,
      encrypted
        ? `TLS key ${keyFile} is encrypted; give the server an unencrypted key (mode 0600)`
        : `TLS key ${keyFile} holds no PEM private key (${reasonOf(error)})`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsPairError(
      'mismatch',
      keyFile,
      `TLS key ${keyFile} does not belong to the certificate ${certFile}`,
    );
  }
  const validTo = Date.parse(certificate.validTo);
  if (Number.isFinite(validTo) && validTo <= now) {
    throw new TlsPairError(
      'expired',
      certFile,
      `TLS certificate ${certFile} expired on ${new Date(validTo).toISOString()}`,
    );
  }
  try {
    createSecureContext(tlsServerOptions({ cert, key }));
  } catch (error) {
    throw new TlsPairError(
      'refused',
      certFile,
      `TLS certificate ${certFile} with key ${keyFile} cannot be served: ${reasonOf(error)}`,
    );
  }
  return {
    cert,
    key,
    fingerprint256: certificate.fingerprint256,
    subject: certificate.subject.replaceAll('\n', ', '),
    validTo,
    digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex'),
  };
}

export interface TlsCertificatesOptions extends CertificateFiles {
  logger: Logger;
  /** Reload when either file changes (default true). */
  watch?: boolean;
  /** Quiet time after the last file event before reloading, in milliseconds (default 250). */
  debounceMs?: number;
  clock?: Clock;
  /** Called after every reload with what it did (metrics, tests). */
  onReload?: (event: TlsReloadEvent) => void;
}

/** What a reload did. */
export type TlsReloadEvent =
  | { type: 'loaded'; fingerprint256: string; at: number }
  | { type: 'unchanged'; fingerprint256: string; at: number }
  | { type: 'rejected'; error: TlsPairError; keptFingerprint256: string; at: number };

/**
 * The certificate pair being served, reloadable while the server runs. A reload reads both
 * files and swaps the pair in only when it is valid and the key matches the certificate: a
 * renewal that replaces the certificate and then the key is seen half-done first, logged, and
 * swapped in once both are there; an invalid pair is logged and the previous one stays.
 *
 * The swap is `server.setSecureContext` with the full options (the TLS 1.3 floor included): new
 * handshakes get the new certificate; open connections, keep-alive ones included, carry on.
 * The files are watched through their directories (an editor's rename-over-save and a
 * Kubernetes Secret's `..data` symlink swap replace the inode a file watch would follow);
 * `reload()` is also the SIGHUP handler.
 */
export class TlsCertificates {
  private active: CertificatePair;
  private server: TlsServer | undefined;
  private readonly reloads = new SerialRunner<TlsReloadEvent>();
  private stopWatching: (() => void) | undefined;

  private constructor(
    private readonly options: TlsCertificatesOptions,
    initial: CertificatePair,
  ) {
    this.active = initial;
  }

  /** Reads and checks the pair; a bad one throws `TlsPairError` (the server must not start). */
  static async load(options: TlsCertificatesOptions): Promise<TlsCertificates> {
    const now = (options.clock ?? Date.now)();
    const certificates = new TlsCertificates(options, await readCertificatePair(options, now));
    certificates.log('serving TLS 1.3 with certificate');
    return certificates;
  }

  /** The pair served now. */
  get current(): CertificatePair {
    return this.active;
  }

  /** Options for the HTTPS server (Fastify's `https`). */
  serverOptions(): TlsServerOptions {
    return tlsServerOptions(this.active);
  }

  /** Applies later reloads to `server` (the listening HTTPS server) and starts watching. */
  attach(server: unknown): void {
    if (!(server instanceof TlsServer))
      throw new Error('certificates attached to a non-TLS server');
    this.server = server;
    if (this.options.watch !== false) this.startWatching();
  }

  /**
   * Reads both files again and swaps the pair in when it is valid and changed. Never rejects.
   * Calls made while a reload runs share one follow-up reload, so the last write wins.
   */
  reload(trigger: 'signal' | 'file-change' = 'signal'): Promise<TlsReloadEvent> {
    return this.reloads.run(() =>
      this.reloadOnce(trigger).then((event) => {
        this.options.onReload?.(event);
        return event;
      }),
    );
  }

  /** Stops watching; the server keeps the pair it has. */
  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private async reloadOnce(trigger: 'signal' | 'file-change'): Promise<TlsReloadEvent> {
    const { logger, certFile, keyFile } = this.options;
    const at = (this.options.clock ?? Date.now)();
    const previous = this.active;
    try {
      const next = await readCertificatePair(this.options, at);
      if (next.digest === previous.digest) {
        logger.debug({ fingerprint256: previous.fingerprint256 }, 'TLS certificate unchanged');
        return { type: 'unchanged', fingerprint256: previous.fingerprint256, at };
      }
      // Always the full options: a bare { key, cert } would drop the TLS 1.3 floor.
      this.server?.setSecureContext(tlsServerOptions(next));
      this.active = next;
      this.log('reloaded TLS certificate');
      return { type: 'loaded', fingerprint256: next.fingerprint256, at };
    } catch (caught) {
      const error =
        caught instanceof TlsPairError
          ? caught
          : new TlsPairError('refused', certFile, `cannot reload TLS: ${reasonOf(caught)}`);
      const fields = {
        tls_cert: certFile,
        tls_key: keyFile,
        kept_fingerprint256: previous.fingerprint256,
      };
      // Mid-renewal (one file replaced, the other not yet) is expected when watching files.
      if (trigger === 'file-change' && error.problem === 'mismatch') {
        logger.warn(fields, `${error.message}; waiting for both files, the current pair stays`);
      } else {
        logger.error(fields, `${error.message}; the current certificate stays in use`);
      }
      return { type: 'rejected', error, keptFingerprint256: previous.fingerprint256, at };
    }
  }

  private startWatching(): void {
    this.stopWatching = watchFiles([this.options.certFile, this.options.keyFile], {
      logger: this.options.logger,
      what: 'TLS files',
      debounceMs: this.options.debounceMs,
      onChange: () => void this.reload('file-change'),
    });
  }

  private log(message: string): void {
    const { logger, certFile, keyFile } = this.options;
    logger.info(
      {
        tls_cert: certFile,
        tls_key: keyFile,
        subject: this.active.subject,
        fingerprint256: this.active.fingerprint256,
        valid_to: new Date(this.active.validTo).toISOString(),
        min_version: tlsMinVersion,
      },
      message,
    );
  }
}

/**
 * The certificates `config` asks for, or undefined for plain HTTP. A bad pair is a
 * `StartupError` naming the file (the CLI exits 2).
 */
export async function openTls(
  config: Readonly<Config>,
  logger: Logger,
  clock?: Clock,
): Promise<TlsCertificates | undefined> {
  const { cert_file: certFile, key_file: keyFile } = config.tls;
  if (certFile === undefined || keyFile === undefined) return undefined;
  try {
    return await TlsCertificates.load({ certFile, keyFile, logger, ...(clock ? { clock } : {}) });
  } catch (error) {
    if (error instanceof TlsPairError) throw new StartupError(error.message);
    throw error;
  }
}

async function readPem(path: string, name: string): Promise<Buffer> {
  try {
    if ((await stat(path)).size > maxPemBytes) {
      throw new TlsPairError('unreadable', path, `${name} ${path} is larger than 1 MiB`);
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof TlsPairError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : reasonOf(error);
    throw new TlsPairError('unreadable', path, `cannot read ${name} ${path}: ${why}`);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
