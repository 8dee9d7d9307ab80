// An SMTP server as its own process, for tests that send real mail: it listens on 127.0.0.1 (a
// free port), prints `listening PORT`, then one JSON line per accepted message
// ({ from, to, data }), and stops on SIGTERM. Plain SMTP only (TLS is tested in-process).
// Run: node --import tsx test/support/smtp-receiver.ts
import type { Server as NetServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { acceptMail } from './smtp.js';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData: acceptMail(({ from, to, data }) => {
    process.stdout.write(`${JSON.stringify({ from: from ?? null, to, data })}\n`);
  }),
});
server.listen(0, '127.0.0.1', () => {
  // smtp-server's types omit its `server` (the net.Server).
  const { server: listener } = server as unknown as { server: NetServer };
  process.stdout.write(`listening ${(listener.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
