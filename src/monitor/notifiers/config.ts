import { readFileSync } from 'node:fs';
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const hosts = z.array(z.string().min(1)).default([]);
const secret = z.string().min(1).optional();
const secretFile = z.string().min(1).optional();

const wecomSchema = z.strictObject({
  type: z.literal('wecom'),
  /** The robot's key (`…/webhook/send?key=KEY`). Secret. */
  key: secret,
  key_file: secretFile,
  /** The send endpoint; the default is WeCom's. */
  url: httpUrl.default('https://qyapi.weixin.qq.com/cgi-bin/webhook/send'),
  /** Hosts allowed although they are private or metadata addresses (a proxy, tests). */
  allow_hosts: hosts,
});

const dingtalkSchema = z.strictObject({
  type: z.literal('dingtalk'),
  /** The robot's `access_token`. Secret. */
  access_token: secret,
  access_token_file: secretFile,
  /** The robot's signing secret (`SEC…`): messages are signed when it is set. */
  secret,
  secret_file: secretFile,
  url: httpUrl.default('https://oapi.dingtalk.com/robot/send'),
  allow_hosts: hosts,
});

const feishuSchema = z.strictObject({
  type: z.literal('feishu'),
  /** The robot's hook URL (`https://open.feishu.cn/open-apis/bot/v2/hook/<token>`). Secret. */
  url: httpUrl.optional(),
  url_file: secretFile,
  /** The robot's signing secret: messages are signed when it is set. */
  secret,
  secret_file: secretFile,
  allow_hosts: hosts,
});

const webhookSchema = z.strictObject({
  type: z.literal('webhook'),
  /** Where to POST. May carry a token; say so with `url_file`. */
  url: httpUrl.optional(),
  url_file: secretFile,
  headers: z.record(z.string().min(1), z.string()).default({}),
  /**
   * `json`: assistd's own document; `alertmanager`: Alertmanager's webhook payload (version 4);
   * `template`: `template` with `{{placeholders}}` (SMS and voice-call gateways).
   */
  format: z.enum(['json', 'alertmanager', 'template']).default('json'),
  template: z.string().min(1).max(16_384).optional(),
  /** Signs the body: `X-Assistd-Signature: sha256=HEX` over `TIMESTAMP.BODY`. */
  hmac_secret: secret,
  hmac_secret_file: secretFile,
  allow_hosts: hosts,
});

const emailSchema = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1),
  /** 587 (STARTTLS) by default; 465 with `secure: true`. */
  port: z.int().min(1).max(65535).default(587),
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure: z.boolean().default(false),
  /** Refuse to send unless the connection is upgraded with STARTTLS (default true). */
  require_tls: z.boolean().default(true),
  username: z.string().min(1).optional(),
  password: secret,
  password_file: secretFile,
  from: z.string().min(3),
  to: z.array(z.string().min(3)).min(1),
  /** PEM file of the CA that signed the server's certificate (a private CA). */
  ca_file: z.string().min(1).optional(),
});

/** One entry of `alerts.channels`. */
export const channelSchema = z.discriminatedUnion('type', [
  emailSchema,
  wecomSchema,
  dingtalkSchema,
  feishuSchema,
  webhookSchema,
]);

export type ChannelConfig = z.output<typeof channelSchema>;
export type ChannelOf<T extends ChannelConfig['type']> = Extract<ChannelConfig, { type: T }>;

/**
 * A secret given inline or as a file (read now, surrounding whitespace trimmed). Throws a message
 * naming the field when both or (if `required`) neither is given, or the file cannot be read.
 */
export function secretValue(
  inline: string | undefined,
  file: string | undefined,
  field: string,
  required: boolean,
): string | undefined {
  if (inline !== undefined && file !== undefined) {
    throw new Error(`give ${field} or ${field}_file, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new Error(`cannot read ${field}_file ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (text === '') throw new Error(`${field}_file ${file} is empty`);
    return text;
  }
  if (inline === undefined && required) throw new Error(`${field} (or ${field}_file) is required`);
  return inline;
}
