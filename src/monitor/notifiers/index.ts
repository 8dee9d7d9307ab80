// The alert channels: each configured `alerts.channels.NAME` becomes a Notifier.
import type { Dispatcher } from 'undici';
import type { Notifier } from '../types.js';
import type { ChannelConfig } from './config.js';
import { DingtalkNotifier } from './dingtalk.js';
import { EmailNotifier } from './email.js';
import { FeishuNotifier } from './feishu.js';
import { WebhookNotifier } from './webhook.js';
import { WecomNotifier } from './wecom.js';

export { channelSchema, type ChannelConfig } from './config.js';
export { redactUrl } from './http-send.js';

export interface NotifierDeps {
  /** Replaces the HTTP connection pool (tests); host checks still apply. */
  dispatcher?: Dispatcher;
  clock?: () => number;
}

/**
 * The notifier for one channel. Throws with a message naming the problem (a missing or unreadable
 * secret, a blocked host, a template that cannot give JSON) so the start or `alerts test` can say
 * which channel is wrong.
 */
export function createNotifier(
  name: string,
  config: ChannelConfig,
  deps: NotifierDeps = {},
): Notifier {
  try {
    switch (config.type) {
      case 'email':
        return new EmailNotifier(name, config);
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
