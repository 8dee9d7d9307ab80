import { connect as connectTcp, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** A stage that failed; `timedOut` when it ran out of time rather than being refused. */
export class StageError extends Error {
  constructor(
    readonly stage: 'connect' | 'TLS' | 'HTTP',
    message: string,
    readonly timedOut = false,
  ) {
    super(`${stage}: ${message}`);
    this.name = 'StageError';
  }
}

/** Opens a TCP connection within `timeoutMs`; the caller destroys the socket. */
export function tcpConnect(options: {
  host: string;
  port: number;
  timeoutMs: number;
  signal: AbortSignal;
  lookup?: LookupFunction;
}): Promise<Socket> {
  const where = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const socket = connectTcp({
      host: options.host,
      port: options.port,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    const settle = (error?: StageError) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      if (error === undefined) return resolve(socket);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        settle(
          new StageError(
            'connect',
            `no connection to ${where} within ${options.timeoutMs} ms`,
            true,
          ),
        ),
      options.timeoutMs,
    );
    const onAbort = () => settle(new StageError('connect', 'aborted', true));
    const onError = (error: NodeJS.ErrnoException) =>
      settle(new StageError('connect', `${where}: ${describeSocketError(error)}`));
    options.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => settle());
  });
}

export interface TlsHandshake {
  /** The negotiated protocol, e.g. `TLSv1.3`. */
  protocol: string;
  /** End of the server certificate's validity, ms since the epoch; undefined when not sent. */
  validTo: number | undefined;
  subject: string | undefined;
}

/**
 * Completes a TLS handshake over `socket` within `timeoutMs`, verifying the certificate against
 * the system's CAs (or `ca`) and `servername`, as the model client does. Ends the connection.
 */
export function tlsHandshake(options: {
  socket: Socket;
  servername: string;
  timeoutMs: number;
  signal: AbortSignal;
  ca?: string | Buffer | undefined;
}): Promise<TlsHandshake> {
  return new Promise((resolve, reject) => {
    const tls: TLSSocket = connectTls({
      socket: options.socket,
      // An IP literal is no SNI name; the certificate is then checked against `host`, the IP.
      ...(isIP(options.servername) === 0 ? { servername: options.servername } : {}),
      host: options.servername,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    const settle = (outcome: TlsHandshake | StageError) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      tls.off('error', onError);
      tls.on('error', () => undefined);
      tls.destroy();
      if (outcome instanceof StageError) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => settle(new StageError('TLS', `no handshake within ${options.timeoutMs} ms`, true)),
      options.timeoutMs,
    );
    const onAbort = () => settle(new StageError('TLS', 'aborted', true));
    const onError = (error: NodeJS.ErrnoException) =>
      settle(new StageError('TLS', describeTlsError(error)));
    options.signal.addEventListener('abort', onAbort, { once: true });
    tls.once('error', onError);
    tls.once('secureConnect', () => {
      const certificate = tls.getPeerCertificate();
      const validTo = certificate.valid_to ? Date.parse(certificate.valid_to) : NaN;
      settle({
        protocol: tls.getProtocol() ?? 'unknown',
        validTo: Number.isFinite(validTo) ? validTo : undefined,
        subject: [certificate.subject?.CN].flat()[0],
      });
    });
  });
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    default:
      return error.message;
  }
}

function describeTlsError(error: NodeJS.ErrnoException): string {
  const code = error.code ?? '';
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return `the certificate is self-signed and not trusted (${code}); add its CA with NODE_EXTRA_CA_CERTS`;
  }
  if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    return `the certificate's issuer is not trusted (${code}); add its CA with NODE_EXTRA_CA_CERTS`;
  }
  if (code === 'CERT_HAS_EXPIRED') return 'the certificate has expired (CERT_HAS_EXPIRED)';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the certificate does not name this host (${error.message})`;
  return code === '' ? error.message : `${error.message} (${code})`;
}
