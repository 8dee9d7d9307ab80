import { createHmac } from 'node:crypto';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import type { ChannelOf } from './config.js';
import type { NotifierDeps } from './deps.js';
import { headline, markdown } from './format.js';
import { HttpTarget } from './http-send.js';
import { robotAnswer } from './robot-answer.js';
import { secretValue } from './secret-value.js';

/** DingTalk's "sending too fast" (20 messages a minute per robot). */
const rateLimited = 130101;

/**
 * DingTalk's `sign` before URL encoding: base64(HMAC-SHA256 keyed with the secret over
 * `${timestamp}\n${secret}`), `timestamp` in milliseconds. DingTalk refuses a timestamp more than
 * an hour off.
 */
export function dingtalkSign(timestampMs: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/**
 * A DingTalk (钉钉) group robot: a markdown message to `URL?access_token=TOKEN`, and with a
 * signing secret `&timestamp=MS&sign=URLENCODED`. Delivered on HTTP 200 with `errcode: 0`.
 */
export class DingtalkNotifier implements Notifier {
  readonly type = 'dingtalk';
  private readonly base: URL;
  private readonly secret: string | undefined;
  private readonly target: HttpTarget;
  private readonly clock: () => number;

  constructor(
    readonly name: string,
    config: ChannelOf<'dingtalk'>,
    deps: NotifierDeps = {},
  ) {
    const token = secretValue(
      {
        field: 'access_token',
        inline: config.access_token,
        file: config.access_token_file,
        required: true,
      },
      deps.readFile,
    )!;
    this.secret = secretValue(
      { field: 'secret', inline: config.secret, file: config.secret_file, required: false },
      deps.readFile,
    );
    this.clock = deps.clock ?? Date.now;
    this.base = new URL(config.url);
    this.base.searchParams.set('access_token', token);
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: deps.dispatcher,
      clock: deps.clock,
      secrets: [token, ...(this.secret === undefined ? [] : [this.secret])],
    });
    this.target.check(this.base);
  }

  /** The URL of a send at `timestampMs`: `timestamp` and `sign` added when signing. */
  urlAt(timestampMs: number): URL {
    const url = new URL(this.base);
    if (this.secret !== undefined) {
      url.searchParams.set('timestamp', String(timestampMs));
      url.searchParams.set('sign', dingtalkSign(timestampMs, this.secret));
    }
    return url;
  }

  /** The exact body sent for `notification`. */
  body(notification: AlertNotification): string {
    return JSON.stringify({
      msgtype: 'markdown',
      markdown: { title: headline(notification), text: markdown(notification) },
    });
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    return this.target.send({
      url: this.urlAt(this.clock()),
      body: this.body(notification),
      signal,
      accept: (answer) => robotAnswer(answer, rateLimited),
    });
  }
}
