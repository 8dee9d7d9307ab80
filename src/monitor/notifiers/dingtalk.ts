import { createHmac } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import { secretValue, type ChannelOf } from './config.js';
import { headline, markdown } from './format.js';
import { HttpTarget } from './http-send.js';
import { robotAnswer } from './wecom.js';

/** DingTalk's "send too fast" error code. */
const rateLimited = 130101;

/** `sign` for a DingTalk robot: base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function dingtalkSign(timestamp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

/** A DingTalk (钉钉) group robot: markdown, signed when the robot has a secret. */
export class DingtalkNotifier implements Notifier {
  readonly type = 'dingtalk';
  private readonly base: URL;
  private readonly secret: string | undefined;
  private readonly target: HttpTarget;

  constructor(
    readonly name: string,
    config: ChannelOf<'dingtalk'>,
    private readonly http: { dispatcher?: Dispatcher | undefined; clock?: () => number } = {},
  ) {
    const token = secretValue(config.access_token, config.access_token_file, 'access_token', true)!;
    this.secret = secretValue(config.secret, config.secret_file, 'secret', false);
    this.base = new URL(config.url);
    this.base.searchParams.set('access_token', token);
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: http.dispatcher,
      secrets: [token, ...(this.secret === undefined ? [] : [this.secret])],
    });
    this.target.check(this.base);
  }

  /** The URL of one send: `timestamp` and `sign` added when signing. */
  urlAt(timestamp: number): URL {
    const url = new URL(this.base);
    if (this.secret !== undefined) {
      url.searchParams.set('timestamp', String(timestamp));
      url.searchParams.set('sign', dingtalkSign(timestamp, this.secret));
    }
    return url;
  }

  body(notification: AlertNotification): string {
    return JSON.stringify({
      msgtype: 'markdown',
      markdown: { title: headline(notification), text: markdown(notification) },
    });
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    const url = this.urlAt((this.http.clock ?? Date.now)());
    return this.target.post(url, this.body(notification), {}, signal, (answer) =>
      robotAnswer(answer, rateLimited),
    );
  }
}
