import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { firing, patient, twoFiring } from './__fixtures__/notifications.js';
import { acceptMail } from '../../../test/support/smtp.js';
import { channelSchema, createNotifier } from './index.js';

// The email channel against real SMTP servers (the smtp-server package) on 127.0.0.1: envelope,
// message, authentication, SMTP replies, STARTTLS and implicit TLS with a self-signed
// certificate made by openssl, and a server that never answers.

interface Delivered {
  from: string | undefined;
  to: string[];
  data: string;
  user: string | undefined;
  secure: boolean;
}

const folder = mkdtempSync(join(tmpdir(), 'assistd-smtp-'));
let certificate: TestCertificate | undefined;
/** One self-signed certificate for localhost / 127.0.0.1, made on first use. */
const tlsCertificate = () => (certificate ??= makeCertificate(folder, 'smtp'));

const servers: SMTPServer[] = [];
afterAll(async () => {
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  rmSync(folder, { recursive: true, force: true });
});

/** A real SMTP server on 127.0.0.1 recording what it accepts; plain unless options say. */
async function smtp(options: SMTPServerOptions & TlsOptions = {}) {
  const delivered: Delivered[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: acceptMail(({ session, ...mail }) =>
      delivered.push({
        ...mail,
        user: session.user as string | undefined,
        secure: session.secure,
      }),
    ),
    ...options,
  });
  servers.push(server);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // smtp-server's types omit its `server` (the net.Server) and its TLS options.
  const { server: listener } = server as unknown as { server: NetServer };
  return { delivered, port: (listener.address() as { port: number }).port };
}

/** The message text with quoted-printable soft breaks and `=XX` escapes undone. */
function decoded(data: string): string {
  return data
    .replace(/=\r?\n/g, '')
    .replace(/(?:=[0-9A-F]{2})+/g, (run) =>
      Buffer.from(run.replace(/=/g, ''), 'hex').toString('utf8'),
    );
}

function email(port: number, extra: Record<string, unknown> = {}) {
  return createNotifier(
    'ops-email',
    channelSchema.parse({
      type: 'email',
      host: '127.0.0.1',
      port,
      require_tls: false,
      from: 'assistd@example.com',
      to: ['oncall@example.com', 'lead@example.com'],
      ...extra,
    }),
  );
}

describe('email channel', () => {
  it('sends from `from` to every `to`, the headline as subject, each alert in the body', async () => {
    const { delivered, port } = await smtp();
    const result = await email(port).send(twoFiring, patient());
    expect(result).toMatchObject({ ok: true, status: 250, retryable: false });
    expect(result.detail).toMatch(/^250 /);
    expect(delivered).toHaveLength(1);
    const [message] = delivered;
    expect(message!.from).toBe('assistd@example.com');
    expect(message!.to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(message!.data).toMatch(
      /^Subject: \[FIRING\] assistd 2 alerts: latency-p99-high, error-rate-high\r$/m,
    );
    const body = decoded(message!.data);
    for (const alert of twoFiring.alerts) {
      expect(body).toContain(`${alert.rule} (${alert.severity}): ${alert.summary} — since`);
      expect(body).toContain(
        `<li>${alert.rule} (${alert.severity}): ${alert.summary.replace('>', '&#62;')}`,
      );
    }
    expect(body).toContain('Content-Type: text/plain');
    expect(body).toContain('Content-Type: text/html');
    expect(body).toContain('<a href="https://assistd.example/console">assistd console</a>');
  });

  it('authenticates, and keeps the password out of a refusal the server words with it', async () => {
    const { delivered, port } = await smtp({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === 'smtp-pass-42') {
          callback(null, { user: 'alerts' });
        } else {
          callback(new Error(`Invalid password ${auth.password ?? ''} for ${auth.username ?? ''}`));
        }
      },
    });
    const ok = await email(port, { username: 'alerts', password: 'smtp-pass-42' }).send(
      firing,
      patient(),
    );
    expect(ok.ok).toBe(true);
    expect(delivered[0]!.user).toBe('alerts');
    const refused = await email(port, { username: 'alerts', password: 'wrong-pass-17' }).send(
      firing,
      patient(),
    );
    expect(refused).toMatchObject({ ok: false, status: 535, retryable: false });
    expect(refused.detail).toContain('Invalid password *** for alerts');
    expect(refused.detail).not.toContain('wrong-pass-17');
    expect(delivered).toHaveLength(1);
  });

  it('treats 550 as final and 451 as temporary', async () => {
    const rejecting = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    expect(await email(rejecting.port).send(firing, patient())).toMatchObject({
      ok: false,
      status: 550,
      retryable: false,
    });
    const busy = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
      },
    });
    expect(await email(busy.port).send(firing, patient())).toMatchObject({
      ok: false,
      status: 451,
      retryable: true,
    });
  });

  it('retries when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await email(port).send(firing, patient());
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.detail).toContain('ECONNREFUSED');
  });

  it('upgrades with STARTTLS, trusting the server through ca_file, and refuses without it', async () => {
    const { key, cert, certFile } = tlsCertificate();
    const { delivered, port } = await smtp({ disabledCommands: [], key, cert });
    const result = await email(port, { require_tls: true, ca_file: certFile }).send(
      firing,
      patient(),
    );
    expect(result.ok).toBe(true);
    expect(delivered[0]!.secure).toBe(true);
    // The same server without trusting its certificate: no send in clear, and no retry.
    const untrusted = await email(port, { require_tls: true }).send(firing, patient());
    expect(untrusted).toMatchObject({ ok: false, retryable: false });
    expect(untrusted.detail).toMatch(/certificate/i);
    expect(delivered).toHaveLength(1);
  });

  it('refuses a server without STARTTLS when require_tls is on (the default)', async () => {
    const { delivered, port } = await smtp();
    const result = await email(port, { require_tls: true }).send(firing, patient());
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(delivered).toHaveLength(0);
  });

  it('speaks TLS from the first byte with secure: true', async () => {
    const { key, cert, certFile } = tlsCertificate();
    const { delivered, port } = await smtp({ secure: true, key, cert });
    const result = await email(port, { secure: true, ca_file: certFile }).send(firing, patient());
    expect(result.ok).toBe(true);
    expect(delivered[0]!.secure).toBe(true);
  });

  it('gives up within the timeout on a server that never answers, and hangs up', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => (closed += 1));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const started = performance.now();
    const result = await email(port).send(firing, AbortSignal.timeout(300));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(result).toEqual({
      ok: false,
      detail: 'timed out waiting for the SMTP server',
      retryable: true,
    });
    // nodemailer ends the aborted connection (destroying it a second later at most).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sockets).toHaveLength(1);
    expect(closed).toBe(1);
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});
