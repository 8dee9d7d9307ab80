import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as NetServer } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCertificate } from '../../../test/support/certificates.js';
import type { AlertNotification } from '../types.js';
import { channelSchema, createNotifier } from './index.js';

interface Delivered {
  from: string | undefined;
  to: string[];
  data: string;
  user: string | undefined;
  secure: boolean;
}

const folder = mkdtempSync(join(tmpdir(), 'assistd-smtp-'));
const servers: SMTPServer[] = [];
afterAll(async () => {
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  rmSync(folder, { recursive: true, force: true });
});

/** A real SMTP server on 127.0.0.1 (the smtp-server package), recording what it accepts. */
async function smtp(options: SMTPServerOptions = {}) {
  const delivered: Delivered[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        delivered.push({
          from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          data: Buffer.concat(chunks).toString(),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        callback(null);
      });
    },
    ...options,
  });
  servers.push(server);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { server: listener } = server as unknown as { server: NetServer };
  const port = (listener.address() as { port: number }).port;
  return { delivered, port };
}

const firing: AlertNotification = {
  status: 'firing',
  groupKey: 'email:cpu-high',
  alerts: [
    {
      rule: 'cpu-high',
      status: 'firing',
      severity: 'warning',
      metric: 'cpu_percent',
      aggregation: 'avg',
      comparison: '>',
      threshold: 85,
      value: 93.5,
      summary: 'CPU 93.5 % > 85 % over 1m',
      startsAt: Date.UTC(2026, 10, 27, 3, 0, 0),
      fingerprint: 'f1',
      labels: { alertname: 'cpu-high' },
    },
  ],
};

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
  it('delivers to every recipient with the alert in the subject and body', async () => {
    const { delivered, port } = await smtp();
    const result = await email(port).send(firing, AbortSignal.timeout(5000));
    expect(result).toMatchObject({ ok: true, status: 250, retryable: false });
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.from).toBe('assistd@example.com');
    expect(delivered[0]!.to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(delivered[0]!.data).toContain('Subject: [FIRING] assistd cpu-high');
    expect(delivered[0]!.data).toContain('cpu-high (warning): CPU 93.5 % > 85 % over 1m');
  });

  it('authenticates, and never shows the password in an answer', async () => {
    const { delivered, port } = await smtp({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === 'smtp-pass-42') {
          callback(null, { user: 'alerts' });
        } else {
          callback(new Error('Invalid username or password (smtp-pass-42?)'));
        }
      },
    });
    expect(
      (
        await email(port, { username: 'alerts', password: 'smtp-pass-42' }).send(
          firing,
          AbortSignal.timeout(5000),
        )
      ).ok,
    ).toBe(true);
    expect(delivered[0]!.user).toBe('alerts');
    const refused = await email(port, { username: 'alerts', password: 'wrong' }).send(
      firing,
      AbortSignal.timeout(5000),
    );
    expect(refused).toMatchObject({ ok: false, retryable: false });
  });

  it('treats 5xx replies as final and 4xx as temporary', async () => {
    const { port: rejecting } = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    expect(await email(rejecting).send(firing, AbortSignal.timeout(5000))).toMatchObject({
      ok: false,
      status: 550,
      retryable: false,
    });
    const { port: busy } = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
      },
    });
    expect(await email(busy).send(firing, AbortSignal.timeout(5000))).toMatchObject({
      ok: false,
      status: 451,
      retryable: true,
    });
  });

  it('upgrades with STARTTLS, checking the certificate against ca_file, and refuses without it', async () => {
    const certificate = makeCertificate(folder, 'smtp');
    // smtp-server passes TLS options through to tls.createSecureContext (its types omit them).
    const tls: SMTPServerOptions & TlsOptions = {
      disabledCommands: [],
      key: certificate.key,
      cert: certificate.cert,
    };
    const { delivered, port } = await smtp(tls);
    const result = await email(port, { require_tls: true, ca_file: certificate.certFile }).send(
      firing,
      AbortSignal.timeout(5000),
    );
    expect(result.ok).toBe(true);
    expect(delivered[0]!.secure).toBe(true);
    // The same server without trusting its CA: the send fails rather than going out in clear.
    const untrusted = await email(port, { require_tls: true }).send(
      firing,
      AbortSignal.timeout(5000),
    );
    expect(untrusted.ok).toBe(false);
    expect(delivered).toHaveLength(1);
  });

  it('gives up within the timeout on a server that never answers', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const result = await email(port).send(firing, AbortSignal.timeout(300));
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(Date.now() - started).toBeLessThan(3000);
    silent.close();
  });
});
