import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';

/** One message an SMTP test server accepted. */
export interface AcceptedMail {
  from: string | undefined;
  to: string[];
  data: string;
  session: SMTPServerSession;
}

/** smtp-server's `onData` that reads each message whole and hands it to `accept`. */
export function acceptMail(accept: (mail: AcceptedMail) => void): SMTPServerOptions['onData'] {
  return (stream, session, callback) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      accept({
        from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        data: Buffer.concat(chunks).toString(),
        session,
      });
      callback(null);
    });
  };
}
