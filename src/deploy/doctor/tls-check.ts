import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { Config } from '../../config/schema.js';
import { checkListenSecurity } from '../../security/listen-check.js';
import { readCertificatePair, tlsServerOptions, TlsPairError } from '../../security/tls.js';
import { fail, messageOf, pass, skip, warn, type Check, type CheckOutcome } from './check.js';
import { certificateWarnDays } from './endpoint-check.js';

const dayMs = 86_400_000;

/**
 * The served certificate: both files readable, the key belongs to the certificate, inside its
 * validity (expired or not yet valid fails, under 14 days left warns), and a real TLS handshake
 * on loopback with the server's own options (`tlsServerOptions`) proves the protocol. Without a
 * certificate, whether plain HTTP on `host` is allowed (the server refuses otherwise).
 */
export function tlsCheck(config: Readonly<Config>, now: () => number = Date.now): Check {
  return {
    id: 'tls-certificate',
    title: 'TLS certificate',
    run: async ({ signal, timeoutMs }) => {
      const { cert_file: certFile, key_file: keyFile } = config.tls;
      if (certFile === undefined || keyFile === undefined) {
        try {
          checkListenSecurity(config);
        } catch (error) {
          return fail(messageOf(error));
        }
        return skip(
          config.tls.terminated_by_proxy
            ? 'no certificate: TLS ends at a proxy in front (tls.terminated_by_proxy)'
            : `no certificate: plain HTTP on loopback ${config.host}`,
        );
      }
      const at = now();
      let pair;
      try {
        pair = await readCertificatePair({ certFile, keyFile }, at);
      } catch (error) {
        if (error instanceof TlsPairError) return fail(error.message);
        throw error;
      }
      const certificate = new X509Certificate(pair.cert);
      const validFrom = Date.parse(certificate.validFrom);
      if (Number.isFinite(validFrom) && validFrom > at) {
        return fail(
          `${certFile} is not valid before ${new Date(validFrom).toISOString()} (check the clock)`,
        );
      }
      const protocol = await handshake(pair, signal, timeoutMs);
      if (typeof protocol !== 'string') return protocol;
      const days = Math.floor((pair.validTo - at) / dayMs);
      const selfSigned =
        certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
      const detail =
        `${pair.subject}, valid until ${new Date(pair.validTo).toISOString()} (${days} days); ` +
        `handshake on loopback: ${protocol}${selfSigned ? '; self-signed: clients must trust it explicitly' : ''}`;
      if (days < certificateWarnDays)
        return warn(`${detail}; renew it: under ${certificateWarnDays} days left`);
      return selfSigned ? warn(detail) : pass(detail);
    },
  };
}

/**
 * Serves the pair on 127.0.0.1 with the server's options and connects a client (trusting the
 * certificate itself: the chain is the clients' business; this proves what OpenSSL negotiates).
 */
async function handshake(
  pair: { cert: Buffer; key: Buffer },
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string | CheckOutcome> {
  const server = createServer(tlsServerOptions(pair), (socket) => {
    socket.on('error', () => undefined);
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string | CheckOutcome>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      const giveUp = () => {
        socket.destroy();
        resolve(fail(`no TLS handshake on loopback within ${timeoutMs} ms`));
      };
      const timer = setTimeout(giveUp, timeoutMs);
      signal.addEventListener('abort', giveUp, { once: true });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const protocol = socket.getProtocol() ?? 'unknown';
        socket.destroy();
        resolve(protocol);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        resolve(fail(`TLS handshake on loopback failed: ${messageOf(error)}`));
      });
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
