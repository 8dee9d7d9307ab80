import { createHmac } from 'node:crypto';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import type { ChannelOf } from './config.js';
import type { NotifierDeps } from './deps.js';
import { plainText } from './format.js';
import { asText, field, HttpTarget, parseHttpUrl, type Answer } from './http-send.js';
import { robotBackoffMs } from './robot-answer.js';
import { secretValue } from './secret-value.js';

/** Feishu's "frequency limited" code. */
const rateLimited = 11232;

/**
 * Feishu's `sign`: base64(HMAC-SHA256 keyed with `${timestamp}\n${secret}` over an empty
 * message), `timestamp` in seconds. (The key is the string to sign; Feishu's own samples do so.)
 */
export function feishuSign(timestampSeconds: number, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/** Delivered on HTTP 200 with `code: 0` (newer API) or `StatusCode: 0` (older). */
function feishuAnswer(answer: Answer): SendResult {
  const code = field(answer.json, 'code') ?? field(answer.json, 'StatusCode');
  const message = asText(field(answer.json, 'msg') ?? field(answer.json, 'StatusMessage') ?? '');
  const detail =
    code === undefined
      ? `unexpected answer: ${answer.text.slice(0, 200)}`
      : `code ${asText(code)} ${message}`.trim();
  if (code === 0 && answer.status === 200) {
    return { ok: true, status: answer.status, detail, retryable: false };
  }
  return {
    ok: false,
    status: answer.status,
    detail,
    retryable: code === rateLimited,
    ...(code === rateLimited ? { retryAfterMs: robotBackoffMs } : {}),
  };
}

/**
 * A Feishu / Lark (飞书) group robot: a text message to its hook URL (whose last path segment is
 * the token, a secret), with `timestamp` and `sign` in the body when the robot has a secret.
 */
export class FeishuNotifier implements Notifier {
  readonly type = 'feishu';
  private readonly url: URL;
  private readonly secret: string | undefined;
  private readonly target: HttpTarget;
  private readonly clock: () => number;

  constructor(
    readonly name: string,
    config: ChannelOf<'feishu'>,
    deps: NotifierDeps = {},
  ) {
    const url = secretValue(
      { field: 'url', inline: config.url, file: config.url_file, required: true },
      deps.readFile,
    )!;
    this.url = parseHttpUrl(url, config.url_file === undefined ? 'url' : 'url_file');
    this.secret = secretValue(
      { field: 'secret', inline: config.secret, file: config.secret_file, required: false },
      deps.readFile,
    );
    this.clock = deps.clock ?? Date.now;
    const token = this.url.pathname.split('/').at(-1) ?? '';
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: deps.dispatcher,
      clock: deps.clock,
      secrets: [url, token, ...(this.secret === undefined ? [] : [this.secret])],
    });
    this.target.check(this.url);
  }

  /** The exact body sent for `notification` at `timestampSeconds`. */
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
    const seconds = Math.floor(this.clock() / 1000);
    return this.target.send({
      url: this.url,
      body: this.body(notification, seconds),
      signal,
      accept: feishuAnswer,
    });
  }
}
