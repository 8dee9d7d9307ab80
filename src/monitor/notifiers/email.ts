import { readFileSync } from 'node:fs';
import type { Transporter } from 'nodemailer';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import { secretValue, type ChannelOf } from './config.js';
import { alertLine, headline, plainText } from './format.js';
import { redact } from './http-send.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * Email over SMTP (nodemailer): STARTTLS required by default (or TLS from the first byte with
 * `secure`), optional authentication, a plain-text and a simple HTML part. nodemailer is loaded
 * on the first send, so a server without an email channel never holds it in memory.
 */
export class EmailNotifier implements Notifier {
  readonly type = 'email';
  private transport: Transporter | undefined;
  private readonly password: string | undefined;
  private readonly ca: string | undefined;

  constructor(
    readonly name: string,
    private readonly config: ChannelOf<'email'>,
  ) {
    this.password = secretValue(config.password, config.password_file, 'password', false);
    if ((config.username === undefined) !== (this.password === undefined)) {
      throw new Error('give both username and password (or password_file), or neither');
    }
    if (config.ca_file !== undefined) {
      try {
        this.ca = readFileSync(config.ca_file, 'utf8');
      } catch (error) {
        throw new Error(`cannot read ca_file ${config.ca_file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }

  /** Subject, text and HTML of the message for `notification`. */
  message(notification: AlertNotification): { subject: string; text: string; html: string } {
    const items = notification.alerts.map((alert) => `<li>${escapeHtml(alertLine(alert))}</li>`);
    return {
      subject: headline(notification),
      text: plainText(notification),
      html: `<p><strong>${escapeHtml(headline(notification))}</strong></p><ul>${items.join('')}</ul>`,
    };
  }

  async send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    const transport = await this.transportOnce();
    const message = this.message(notification);
    const sending = transport.sendMail({
      from: this.config.from,
      to: this.config.to,
      ...message,
    });
    const aborted = new Promise<never>((_resolve, reject) => {
      const onAbort = () => reject(new Error('timed out waiting for the SMTP server'));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const remove = () => signal.removeEventListener('abort', onAbort);
      sending.then(remove, remove);
    });
    try {
      const info = (await Promise.race([sending, aborted])) as { response?: string };
      const response = info.response ?? '250';
      return {
        ok: true,
        status: Number(/^\d{3}/.exec(response)?.[0] ?? 250),
        detail: this.hide(response),
        retryable: false,
      };
    } catch (error) {
      if (signal.aborted) {
        // The connection may still be waiting on the server: drop it, a retry opens a new one.
        this.transport?.close();
        this.transport = undefined;
        return { ok: false, detail: 'timed out waiting for the SMTP server', retryable: true };
      }
      const {
        responseCode,
        code,
        message: text,
      } = error as {
        responseCode?: number;
        code?: string;
        message: string;
      };
      return {
        ok: false,
        ...(responseCode !== undefined ? { status: responseCode } : {}),
        detail: this.hide(`${code ?? 'error'}: ${text}`),
        // 4xx replies are temporary by definition; 5xx are not; no reply at all is a network fault.
        retryable: responseCode === undefined ? code !== 'EAUTH' : responseCode < 500,
      };
    }
  }

  private hide(text: string): string {
    return redact(text, this.password === undefined ? [] : [this.password]);
  }

  private async transportOnce(): Promise<Transporter> {
    if (this.transport) return this.transport;
    const { createTransport } = await import('nodemailer');
    this.transport = createTransport({
      host: this.config.host,
      port: this.config.port,
      secure: this.config.secure,
      requireTLS: this.config.require_tls && !this.config.secure,
      ...(this.config.username !== undefined
        ? { auth: { user: this.config.username, pass: this.password! } }
        : {}),
      tls: { minVersion: 'TLSv1.2', ...(this.ca !== undefined ? { ca: this.ca } : {}) },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    return this.transport;
  }
}
