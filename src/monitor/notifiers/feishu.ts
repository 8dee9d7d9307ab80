import { createHmac } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import { secretValue, type ChannelOf } from './config.js';
import { plainText } from './format.js';
import { asText, field, HttpTarget } from './http-send.js';

/** Feishu's `sign`: base64(HMAC-SHA256 keyed with `${timestamp}\n${secret}` over no data). */
export function feishuSign(timestampSeconds: number, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/** A Feishu / Lark (飞书) group robot: a text message, signed when the robot has a secret. */
export class FeishuNotifier implements Notifier {
  readonly type = 'feishu';
  private readonly url: URL;
  private readonly secret: string | undefined;
  private readonly target: HttpTarget;

  constructor(
    readonly name: string,
    config: ChannelOf<'feishu'>,
    private readonly http: { dispatcher?: Dispatcher | undefined; clock?: () => number } = {},
  ) {
    const url = secretValue(config.url, config.url_file, 'url', true)!;
    this.url = new URL(url);
    this.secret = secretValue(config.secret, config.secret_file, 'secret', false);
    const token = this.url.pathname.split('/').at(-1) ?? '';
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: http.dispatcher,
      secrets: [token, ...(this.secret === undefined ? [] : [this.secret])],
    });
    this.target.check(this.url);
  }

  body(notification: AlertNotification, timestampSeconds: number): string {
    return JSON.stringify({
      ...(this.secret === undefined
        ? {}
        : { timestamp: String(timestampSeconds), sign: feishuSign(timestampSeconds, this.secret) }),
      msg_type: 'text',
      content: { text: plainText(notification) },
    });
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    const seconds = Math.floor((this.http.clock ?? Date.now)() / 1000);
    return this.target.post(this.url, this.body(notification, seconds), {}, signal, (answer) => {
      const code = field(answer.json, 'code') ?? field(answer.json, 'StatusCode');
      const message = asText(
        field(answer.json, 'msg') ?? field(answer.json, 'StatusMessage') ?? '',
      );
      return code === 0
        ? { ok: true, status: answer.status, detail: `code 0 ${message}`.trim(), retryable: false }
        : {
            ok: false,
            status: answer.status,
            detail: `code ${asText(code)} ${message}`.trim(),
            // 11232: "frequency limited".
            retryable: code === 11232,
            ...(code === 11232 ? { retryAfterMs: 60_000 } : {}),
          };
    });
  }
}
