import * as z from '../../util/zod.js';
import { templateProblem } from './json-template.js';

// `alerts.channels.NAME`: one entry per channel, `type` picks the kind. Secrets are given inline or
// as `*_file` paths (read when the notifier is built), never both, and none has a default.

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const secret = z.string().min(1).optional();
const secretFile = z.string().min(1).optional();

/**
 * Hosts a robot or webhook may reach although they are private-network or cloud-metadata
 * addresses (a proxy on the LAN, tests). Compared lower-case; IPv6 without brackets.
 */
const allowHosts = z
  .array(
    z
      .string()
      .min(1)
      .transform((host) => host.toLowerCase().replace(/^\[|\]$/g, '')),
  )
  .default([]);

/** Adds an issue for each secret given both inline and as a file, or required and missing. */
function secretRules(fields: ReadonlyArray<readonly [name: string, required: boolean]>) {
  return (value: Record<string, unknown>, context: z.RefinementCtx) => {
    for (const [name, required] of fields) {
      const inline = value[name] !== undefined;
      const file = value[`${name}_file`] !== undefined;
      if (inline && file) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `give ${name} or ${name}_file, not both`,
        });
      } else if (required && !inline && !file) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `${name} (or ${name}_file) is required`,
        });
      }
    }
  };
}

const wecomSchema = z
  .strictObject({
    type: z.literal('wecom'),
    /** The group robot's key (`…/webhook/send?key=KEY`). Secret. */
    key: secret,
    key_file: secretFile,
    /** The send endpoint (a proxy, tests); the default is WeCom's. */
    url: httpUrl.default('https://qyapi.weixin.qq.com/cgi-bin/webhook/send'),
    allow_hosts: allowHosts,
  })
  .superRefine(secretRules([['key', true]]));

const dingtalkSchema = z
  .strictObject({
    type: z.literal('dingtalk'),
    /** The robot's `access_token` (in its webhook URL). Secret. */
    access_token: secret,
    access_token_file: secretFile,
    /** The robot's signing secret (`SEC…`): sends are signed when it is set. */
    secret,
    secret_file: secretFile,
    url: httpUrl.default('https://oapi.dingtalk.com/robot/send'),
    allow_hosts: allowHosts,
  })
  .superRefine(
    secretRules([
      ['access_token', true],
      ['secret', false],
    ]),
  );

const feishuSchema = z
  .strictObject({
    type: z.literal('feishu'),
    /** The robot's hook URL (`https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`). Secret. */
    url: httpUrl.optional(),
    url_file: secretFile,
    /** The robot's signing secret: sends are signed when it is set. */
    secret,
    secret_file: secretFile,
    allow_hosts: allowHosts,
  })
  .superRefine(
    secretRules([
      ['url', true],
      ['secret', false],
    ]),
  );

/** Header names assistd sets itself, or that would break the request. */
const reservedHeaders = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'x-assistd-signature',
  'x-assistd-timestamp',
]);

/** Adds an issue for each header name that is not an HTTP token or is reserved. */
function headerRules(value: { headers: Record<string, string> }, context: z.RefinementCtx): void {
  for (const name of Object.keys(value.headers)) {
    const message = !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)
      ? 'not a valid header name'
      : reservedHeaders.has(name.toLowerCase())
        ? 'is set by assistd itself'
        : undefined;
    if (message !== undefined) {
      context.addIssue({ code: 'custom', path: ['headers', name], message });
    }
  }
}

const webhookSchema = z
  .strictObject({
    type: z.literal('webhook'),
    /** Where to send. A URL carrying a token belongs in `url_file`. */
    url: httpUrl.optional(),
    url_file: secretFile,
    /** POST (default) or PUT. */
    method: z.enum(['POST', 'PUT']).default('POST'),
    /** Extra request headers; values of names with auth/token/key/secret are redacted. */
    headers: z.record(z.string(), z.string()).default({}),
    /**
     * `json`: assistd's document (see `jsonDocument`); `alertmanager`: Alertmanager's webhook
     * payload, version 4; `template`: `template` filled in (SMS and voice-call gateways).
     */
    format: z.enum(['json', 'alertmanager', 'template']).default('json'),
    /** JSON with `{{placeholders}}` (see `renderJsonTemplate`); with `format: template` only. */
    template: z.string().min(1).max(16_384).optional(),
    /** Signs each request: `X-Assistd-Signature: sha256=HEX` (see `webhookSignature`). */
    hmac_secret: secret,
    hmac_secret_file: secretFile,
    allow_hosts: allowHosts,
  })
  .superRefine(
    secretRules([
      ['url', true],
      ['hmac_secret', false],
    ]),
  )
  .superRefine(headerRules)
  .superRefine((value, context) => {
    const problem =
      value.format === 'template'
        ? value.template === undefined
          ? 'format "template" needs a template'
          : templateProblem(value.template)
        : value.template !== undefined
          ? 'template is only used with format "template"'
          : undefined;
    if (problem !== undefined)
      context.addIssue({ code: 'custom', path: ['template'], message: problem });
  });

const emailSchema = z
  .strictObject({
    type: z.literal('email'),
    host: z.string().min(1),
    /** Default 587, or 465 with `secure: true`. */
    port: z.int().min(1).max(65535).optional(),
    /** TLS from the first byte (SMTPS, port 465). */
    secure: z.boolean().default(false),
    /** Without `secure`: refuse to send unless the server upgrades with STARTTLS (default true). */
    require_tls: z.boolean().default(true),
    username: z.string().min(1).optional(),
    password: secret,
    password_file: secretFile,
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    /** PEM file of the CA that signed the server's certificate (a private CA, self-signed). */
    ca_file: z.string().min(1).optional(),
  })
  .superRefine(secretRules([['password', false]]))
  .superRefine((value, context) => {
    const password = value.password !== undefined || value.password_file !== undefined;
    if ((value.username !== undefined) !== password) {
      context.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'give both username and password (or password_file), or neither',
      });
    }
  });

/** One entry of `alerts.channels`. */
export const channelSchema = z.discriminatedUnion('type', [
  emailSchema,
  wecomSchema,
  dingtalkSchema,
  feishuSchema,
  webhookSchema,
]);

/** A parsed channel entry (defaults applied). */
export type ChannelConfig = z.output<typeof channelSchema>;
export type ChannelOf<T extends ChannelConfig['type']> = Extract<ChannelConfig, { type: T }>;
