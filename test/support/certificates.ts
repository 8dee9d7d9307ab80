import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl at test time. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint as `getPeerCertificate().fingerprint256` reports it. */
  fingerprint256: string;
}

/** Writes `<name>.crt` and `<name>.key` into `directory` (RSA-2048, valid one day). */
export function makeCertificate(directory: string, name: string): TestCertificate {
  const certFile = join(directory, `${name}.crt`);
  const keyFile = join(directory, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=localhost/O=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile);
  return {
    certFile,
    keyFile,
    cert,
    key: readFileSync(keyFile),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}

/** Replaces `path` atomically (write beside it, then rename), as renewal tools do. */
export function replaceFile(path: string, contents: Buffer | string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents, { mode: 0o600 });
  renameSync(temporary, path);
}
