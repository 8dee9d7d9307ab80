import type { ConversationMessage } from '../providers/types.js';
import { messageOverheadTokens, replyPrimingTokens } from './token-estimate.js';

/** A message with its token count. */
export interface CountedMessage {
  message: ConversationMessage;
  tokens: number;
}

export interface PromptInput {
  system: CountedMessage | undefined;
  /** Stored history, oldest first. */
  history: readonly CountedMessage[];
  /** History messages already left in the store (not loaded). */
  olderCount: number;
  /** The request's new messages, oldest first; always kept. */
  fresh: readonly CountedMessage[];
  /** Tokens the prompt may use: the context window minus the answer's reserve. */
  budgetTokens: number;
  /**
   * The model's template cost (`ModelCapabilities.templateTokens`), when not OpenAI's: counted
   * messages carry OpenAI's overhead, the difference is added to each.
   */
  templateTokens?: { perMessage: number; reply: number } | undefined;
}

export type PromptResult =
  | { fits: true; messages: ConversationMessage[]; promptTokens: number; omittedMessages: number }
  | { fits: false; requiredTokens: number };

/**
 * Builds a prompt within the token budget: the system prompt and the new messages are always
 * kept; history fills what is left from the newest message backwards, so the oldest turns are
 * the first to go. Turns go whole: once anything is left out, kept history starts at a user
 * message, never with an answer whose question was dropped. The result says how many stored
 * messages were left out.
 */
export function buildPrompt(input: PromptInput): PromptResult {
  const template = input.templateTokens;
  const extra =
    template === undefined ? 0 : Math.max(0, template.perMessage - messageOverheadTokens);
  const reply = template === undefined ? replyPrimingTokens : template.reply;
  let used = reply + (input.system ? input.system.tokens + extra : 0);
  for (const counted of input.fresh) used += counted.tokens + extra;
  if (used > input.budgetTokens) return { fits: false, requiredTokens: used };

  let firstKept = input.history.length;
  while (firstKept > 0) {
    const candidate = input.history[firstKept - 1]!;
    if (used + candidate.tokens + extra > input.budgetTokens) break;
    used += candidate.tokens + extra;
    firstKept--;
  }
  if (firstKept > 0 || input.olderCount > 0) {
    while (firstKept < input.history.length && input.history[firstKept]!.message.role !== 'user') {
      used -= input.history[firstKept]!.tokens + extra;
      firstKept++;
    }
  }
  const messages: ConversationMessage[] = [];
  if (input.system) messages.push(input.system.message);
  for (const counted of input.history.slice(firstKept)) messages.push(counted.message);
  for (const counted of input.fresh) messages.push(counted.message);
  return {
    fits: true,
    messages,
    promptTokens: used,
    omittedMessages: input.olderCount + firstKept,
  };
}
