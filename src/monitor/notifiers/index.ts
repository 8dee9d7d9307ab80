// The alert channels: each configured `alerts.channels.NAME` becomes a Notifier.
import type { Notifier } from '../types.js';
import type { ChannelConfig } from './config.js';
import { DingtalkNotifier } from './dingtalk.js';
import type { NotifierDeps } from './deps.js';
import { EmailNotifier } from './email.js';
import { FeishuNotifier } from './feishu.js';
import { WebhookNotifier } from './webhook.js';
import { WecomNotifier } from './wecom.js';

export { channelSchema, type ChannelConfig } from './config.js';
export type { NotifierDeps } from './deps.js';
export { redactUrl } from './redact.js';
export { webhookSignature } from './webhook.js';

/**
 * The notifier for channel `name`. Secret files are read now. Throws, with the channel named and
 * no secret in the message, when a secret is missing or unreadable, the host is private or a
 * metadata address and not allow-listed, or a template cannot give JSON, so the start or
 * `assistd alerts test` says which channel is wrong. `send` itself never throws.
 */
export function createNotifier(
  name: string,
  config: ChannelConfig,
  deps: NotifierDeps = {},
): Notifier {
  try {
    switch (config.type) {
      case 'email':
        return new EmailNotifier(name, config, deps);
      case 'wecom':
        return new WecomNotifier(name, config, deps);
      case 'dingtalk':
        return new DingtalkNotifier(name, config, deps);
      case 'feishu':
        return new FeishuNotifier(name, config, deps);
      case 'webhook':
        return new WebhookNotifier(name, config, deps);
    }
  } catch (error) {
    throw new Error(`channel "${name}" (${config.type}): ${(error as Error).message}`, {
      cause: error,
    });
  }
}
