import { createHmac } from 'node:crypto';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import { alertmanagerPayload } from './alertmanager.js';
import type { ChannelOf } from './config.js';
import type { NotifierDeps } from './deps.js';
import { HttpTarget, parseHttpUrl } from './http-send.js';
import { jsonDocument } from './json-document.js';
import { renderJsonTemplate, templateProblem, templateValues } from './json-template.js';
import { secretValue } from './secret-value.js';

/** Header names whose values are credentials, so are kept out of every `detail`. */
const credentialHeader = /auth|token|key|secret|signature|cookie|password/i;

/**
 * The signature header of a webhook request: `sha256=` and the lower-case hex HMAC-SHA256,
 * keyed with `hmac_secret`, of the UTF-8 bytes of `TIMESTAMP + "." + BODY`, where TIMESTAMP is
 * the `X-Assistd-Timestamp` header (Unix seconds, decimal) and BODY the exact request body. A
 * receiver recomputes it over the raw body, compares in constant time, and refuses a timestamp
 * more than a few minutes off (replays).
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Parts of a secret URL a receiver might echo: the URL, long path segments and query values. */
function urlSecrets(url: URL): string[] {
  const parts = [...url.pathname.split('/'), ...url.searchParams.values()];
  return [url.toString(), ...parts.filter((part) => part.length >= 16)];
}

/** A credential header's value, and each long word of it (`Bearer TOKEN`). */
function headerSecrets(headers: Record<string, string>): string[] {
  return Object.entries(headers)
    .filter(([name]) => credentialHeader.test(name))
    .flatMap(([, value]) => [value, ...value.split(/\s+/).filter((word) => word.length >= 8)]);
}

/**
 * A generic webhook: the way to SMS and voice-call gateways, ticketing and Alertmanager-style
 * receivers. The body is assistd's JSON document, Alertmanager's payload, or a template; with
 * `hmac_secret` it is signed (`X-Assistd-Timestamp` and `X-Assistd-Signature`). Any 2xx is
 * delivered.
 */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  private readonly url: URL;
  private readonly hmacSecret: string | undefined;
  private readonly target: HttpTarget;
  private readonly clock: () => number;

  constructor(
    readonly name: string,
    private readonly config: ChannelOf<'webhook'>,
    deps: NotifierDeps = {},
  ) {
    const url = secretValue(
      { field: 'url', inline: config.url, file: config.url_file, required: true },
      deps.readFile,
    )!;
    this.url = parseHttpUrl(url, config.url_file === undefined ? 'url' : 'url_file');
    this.hmacSecret = secretValue(
      {
        field: 'hmac_secret',
        inline: config.hmac_secret,
        file: config.hmac_secret_file,
        required: false,
      },
      deps.readFile,
    );
    if (config.format === 'template') {
      const problem =
        config.template === undefined
          ? 'format "template" needs a template'
          : templateProblem(config.template);
      if (problem !== undefined) throw new Error(`template: ${problem}`);
    }
    this.clock = deps.clock ?? Date.now;
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: deps.dispatcher,
      clock: deps.clock,
      secrets: [
        ...(config.url_file === undefined ? [] : urlSecrets(this.url)),
        ...headerSecrets(config.headers),
        ...(this.hmacSecret === undefined ? [] : [this.hmacSecret]),
      ],
    });
    this.target.check(this.url);
  }

  /** The exact body sent for `notification`. */
  body(notification: AlertNotification): string {
    switch (this.config.format) {
      case 'alertmanager':
        return JSON.stringify(alertmanagerPayload(notification, this.name));
      case 'template':
        return renderJsonTemplate(this.config.template!, templateValues(notification));
      case 'json':
        return JSON.stringify(jsonDocument(notification));
    }
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    const body = this.body(notification);
    const headers: Record<string, string> = { ...this.config.headers };
    if (this.hmacSecret !== undefined) {
      const timestamp = String(Math.floor(this.clock() / 1000));
      headers['x-assistd-timestamp'] = timestamp;
      headers['x-assistd-signature'] = webhookSignature(this.hmacSecret, timestamp, body);
    }
    return this.target.send({
      url: this.url,
      method: this.config.method,
      body,
      headers,
      signal,
      accept: (answer) => ({
        ok: true,
        status: answer.status,
        detail: `HTTP ${answer.status} ${answer.text.replace(/\s+/g, ' ').slice(0, 120)}`.trim(),
        retryable: false,
      }),
    });
  }
}
