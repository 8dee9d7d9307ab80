import type { Mail, SMTPSentMessageInfo, SMTPTransportOptions } from 'nodemailer';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import type { ChannelOf } from './config.js';
import type { NotifierDeps } from './deps.js';
import { alertLine, headline, plainText } from './format.js';
import { redact } from './redact.js';
import { readTextFile, secretValue } from './secret-value.js';

/** nodemailer error codes no retry can fix: credentials, TLS trust, addresses, the message. */
const finalCodes = new Set([
  'EAUTH',
  'ENOAUTH',
  'ETLS',
  'EREQUIRETLS',
  'EENVELOPE',
  'EMESSAGE',
  'ECONFIG',
  'EMAXRECIPIENTS',
]);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** What an email says: the headline as subject, a plain-text part and a simple HTML part. */
export function emailMessage(notification: AlertNotification): {
  subject: string;
  text: string;
  html: string;
} {
  const items = notification.alerts.map((alert) => `<li>${escapeHtml(alertLine(alert))}</li>`);
  const link =
    notification.externalUrl === undefined
      ? ''
      : `<p><a href="${escapeHtml(notification.externalUrl)}">assistd console</a></p>`;
  return {
    subject: headline(notification),
    text: plainText(notification),
    html: `<p><strong>${escapeHtml(headline(notification))}</strong></p><ul>${items.join('')}</ul>${link}`,
  };
}

/** What nodemailer reports of a failed send. */
export interface SmtpFailure {
  /** The server's reply code, when it replied. */
  responseCode?: number | undefined;
  /** nodemailer's code (`EAUTH`, `ESOCKET`, …). */
  code?: string | undefined;
  /** The system's or TLS's own code under nodemailer's (`ECONNREFUSED`, `CERT_HAS_EXPIRED`). */
  originalCode?: string | undefined;
}

/**
 * Whether an SMTP failure is worth another try: a 4xx reply is temporary by definition and a 5xx
 * final (RFC 5321); without a reply, a network fault or timeout is temporary, and a refusal of
 * credentials, addresses or the server's certificate (which only the operator can fix) is not.
 */
export function smtpRetryable({ responseCode, code, originalCode }: SmtpFailure): boolean {
  if (responseCode !== undefined && responseCode >= 400) return responseCode < 500;
  if (originalCode !== undefined && /CERT|SIGNATURE/.test(originalCode)) return false;
  return code === undefined || !finalCodes.has(code);
}

/**
 * Email over SMTP (nodemailer): STARTTLS required by default (or TLS from the first byte with
 * `secure`), the server's certificate checked (against `ca_file` when given), optional
 * authentication. nodemailer is loaded on the first send, so a server without an email channel
 * never holds it. One connection per send; an aborted send closes its connection.
 */
export class EmailNotifier implements Notifier {
  readonly type = 'email';
  private transport: Mail<SMTPSentMessageInfo, SMTPTransportOptions> | undefined;
  private readonly password: string | undefined;
  private readonly ca: string | undefined;

  constructor(
    readonly name: string,
    private readonly config: ChannelOf<'email'>,
    deps: NotifierDeps = {},
  ) {
    this.password = secretValue(
      { field: 'password', inline: config.password, file: config.password_file, required: false },
      deps.readFile,
    );
    if ((config.username === undefined) !== (this.password === undefined)) {
      throw new Error('give both username and password (or password_file), or neither');
    }
    if (config.ca_file !== undefined) {
      try {
        this.ca = (deps.readFile ?? readTextFile)(config.ca_file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new Error(`cannot read ca_file ${config.ca_file} (${code})`, { cause: error });
      }
    }
  }

  async send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    try {
      const transport = await this.transportOnce();
      const info = await transport.sendMail({
        from: this.config.from,
        to: this.config.to,
        ...emailMessage(notification),
        signal,
      });
      const response = info.response || '250';
      return {
        ok: true,
        status: Number(/^\d{3}/.exec(response)?.[0] ?? 250),
        detail: this.hide(response),
        retryable: false,
      };
    } catch (error) {
      // nodemailer closes the connection of an aborted send itself.
      if (signal.aborted) {
        return { ok: false, detail: 'timed out waiting for the SMTP server', retryable: true };
      }
      const failure = error as SmtpFailure & { message: string };
      const { responseCode, code, originalCode } = failure;
      const kind = `${code ?? 'error'}${originalCode === undefined ? '' : ` (${originalCode})`}`;
      return {
        ok: false,
        ...(responseCode !== undefined ? { status: responseCode } : {}),
        detail: this.hide(`${kind}: ${failure.message}`),
        retryable: smtpRetryable(failure),
      };
    }
  }

  private hide(text: string): string {
    return redact(text, this.password === undefined ? [] : [this.password]);
  }

  private async transportOnce(): Promise<Mail<SMTPSentMessageInfo, SMTPTransportOptions>> {
    if (this.transport) return this.transport;
    const { createTransport } = await import('nodemailer');
    const { config } = this;
    this.transport = createTransport({
      host: config.host,
      port: config.port ?? (config.secure ? 465 : 587),
      secure: config.secure,
      requireTLS: config.require_tls && !config.secure,
      ...(config.username !== undefined
        ? { auth: { user: config.username, pass: this.password! } }
        : {}),
      tls: { minVersion: 'TLSv1.2', ...(this.ca !== undefined ? { ca: this.ca } : {}) },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // An aborted send's socket is destroyed after a second if the server does not close it.
      socketCloseTimeout: 1000,
    });
    return this.transport;
  }
}
