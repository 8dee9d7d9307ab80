import type { AlertNotification, Notifier, SendResult } from '../types.js';
import type { ChannelOf } from './config.js';
import type { NotifierDeps } from './deps.js';
import { markdown, truncateUtf8 } from './format.js';
import { HttpTarget } from './http-send.js';
import { robotAnswer } from './robot-answer.js';
import { secretValue } from './secret-value.js';

/** WeCom refuses markdown content over 4096 bytes of UTF-8. */
export const wecomMaxBytes = 4096;
/** WeCom's "api freq out of limit": about 20 messages a minute per robot. */
const rateLimited = 45009;

/**
 * A WeCom (企业微信) group robot: one markdown message per notification, cut to 4096 bytes, to
 * `URL?key=KEY`. Delivered when the robot answers HTTP 200 with `errcode: 0`.
 */
export class WecomNotifier implements Notifier {
  readonly type = 'wecom';
  private readonly url: URL;
  private readonly target: HttpTarget;

  constructor(
    readonly name: string,
    config: ChannelOf<'wecom'>,
    deps: NotifierDeps = {},
  ) {
    const key = secretValue(
      { field: 'key', inline: config.key, file: config.key_file, required: true },
      deps.readFile,
    )!;
    this.url = new URL(config.url);
    this.url.searchParams.set('key', key);
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: deps.dispatcher,
      clock: deps.clock,
      secrets: [key],
    });
    this.target.check(this.url);
  }

  /** The exact body sent for `notification`. */
  body(notification: AlertNotification): string {
    return JSON.stringify({
      msgtype: 'markdown',
      markdown: { content: truncateUtf8(markdown(notification), wecomMaxBytes) },
    });
  }

  send(notification: AlertNotification, signal: AbortSignal): Promise<SendResult> {
    return this.target.send({
      url: this.url,
      body: this.body(notification),
      signal,
      accept: (answer) => robotAnswer(answer, rateLimited),
    });
  }
}
