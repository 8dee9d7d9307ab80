// An SMTP server as its own process, for tests that send real mail: it listens on 127.0.0.1 (a
// free port), prints `listening PORT`, then one JSON line per accepted message
// ({ from, to, data }), and stops on SIGTERM. Plain SMTP only (TLS is tested in-process).
// Run: node --import tsx test/support/smtp-receiver.ts
import type { Server as NetServer } from 'node:net';
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const from = session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address;
      const to = session.envelope.rcptTo.map((rcpt) => rcpt.address);
      process.stdout.write(
        `${JSON.stringify({ from, to, data: Buffer.concat(chunks).toString() })}\n`,
      );
      callback(null);
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  // smtp-server's types omit its `server` (the net.Server).
  const { server: listener } = server as unknown as { server: NetServer };
  process.stdout.write(`listening ${(listener.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
