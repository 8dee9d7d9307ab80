import type { Dispatcher } from 'undici';
import type { AlertNotification, Notifier, SendResult } from '../types.js';
import { secretValue, type ChannelOf } from './config.js';
import { markdown, truncateUtf8 } from './format.js';
import { asText, field, HttpTarget, type Answer } from './http-send.js';

/** WeCom robot limits: markdown content up to 4096 bytes; errcode 45009 is "too many messages". */
export const wecomMaxBytes = 4096;
const rateLimited = 45009;

/** Judges a robot's `{ errcode, errmsg }` answer (WeCom and DingTalk share the shape). */
export function robotAnswer(answer: Answer, rateLimitCode: number): SendResult {
  const code = field(answer.json, 'errcode');
  const message = asText(field(answer.json, 'errmsg') ?? answer.text.slice(0, 200));
  if (code === 0)
    return { ok: true, status: answer.status, detail: `errcode 0 ${message}`, retryable: false };
  if (code === rateLimitCode) {
    return {
      ok: false,
      status: answer.status,
      detail: `errcode ${code} ${message}`,
      retryable: true,
      retryAfterMs: 60_000,
    };
  }
  return {
    ok: false,
    status: answer.status,
    detail:
      code === undefined ? `unexpected answer: ${message}` : `errcode ${asText(code)} ${message}`,
    retryable: false,
  };
}

/** A WeCom (企业微信) group robot: one markdown message per notification. */
export class WecomNotifier implements Notifier {
  readonly type = 'wecom';
  private readonly url: URL;
  private readonly target: HttpTarget;

  constructor(
    readonly name: string,
    config: ChannelOf<'wecom'>,
    http: { dispatcher?: Dispatcher | undefined } = {},
  ) {
    const key = secretValue(config.key, config.key_file, 'key', true)!;
    this.url = new URL(config.url);
    this.url.searchParams.set('key', key);
    this.target = new HttpTarget({
      allowHosts: config.allow_hosts,
      dispatcher: http.dispatcher,
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
    return this.target.post(this.url, this.body(notification), {}, signal, (answer) =>
      robotAnswer(answer, rateLimited),
    );
  }
}
