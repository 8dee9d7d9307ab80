import { AppError } from '../errors.js';
import type {
  ChatModel,
  ChatRequest,
  FinishReason,
  StreamPart,
  Usage,
} from '../providers/types.js';
import { partialAnswerOf } from '../providers/partial-answer.js';
import type { Principal } from '../security/tokens.js';
import type { ConversationRecord, MessageRecord, NewMessage } from '../storage/types.js';
import type { CountedMessage } from './context.js';
import type { CachedContext } from './context-cache.js';
import type { DialogEngine } from './engine.js';
import { estimatedUsage, messageTokens } from './token-estimate.js';

export interface TurnPlan {
  id: string;
  principal: Principal;
  conversationId: string;
  /** Undefined for a new conversation. */
  conversation: ConversationRecord | undefined;
  context: CachedContext | undefined;
  /** Title of a new conversation. */
  title: string | undefined;
  /** A system prompt this turn sets. */
  systemPrompt: string | undefined;
  model: ChatModel;
  fresh: readonly CountedMessage[];
  request: ChatRequest;
  promptTokens: number;
  omittedMessages: number;
  countText: (text: string) => number;
}

export interface TurnResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

/**
 * One prepared chat turn. Run it once, with `generate` or `stream`; either stores the new
 * messages and the answer in one transaction (an answer cut short is stored as incomplete) and
 * releases the conversation for the next turn.
 */
export class Turn {
  private released = false;

  constructor(
    private readonly engine: DialogEngine,
    readonly plan: TurnPlan,
  ) {}

  get id(): string {
    return this.plan.id;
  }
  get conversationId(): string {
    return this.plan.conversationId;
  }
  get modelId(): string {
    return this.plan.model.id;
  }
  get omittedMessages(): number {
    return this.plan.omittedMessages;
  }

  async generate(signal: AbortSignal): Promise<TurnResult> {
    try {
      let result;
      try {
        result = await this.plan.model.generate(this.plan.request, signal);
      } catch (error) {
        // Cut short after some text (client gone, shutdown): stored incomplete, as a stream is.
        const partial = partialAnswerOf(error);
        if (partial !== undefined) await this.store(partial, true);
        throw error;
      }
      if (result.toolCalls?.length || result.finishReason === 'tool_calls') throw toolCallAnswer();
      const usage = this.usageOf(result.text, result.usage);
      await this.storeOrThrow(result.text, false);
      return { text: result.text, finishReason: result.finishReason, usage };
    } finally {
      this.release();
    }
  }

  /**
   * Streams the answer. Throws before the first part when the model fails early (nothing is
   * stored); after that, failures end the stream with an `error` part.
   */
  async *stream(signal: AbortSignal): AsyncGenerator<StreamPart> {
    let text = '';
    let settled = false;
    try {
      for await (const part of this.plan.model.stream(this.plan.request, signal)) {
        if (part.type === 'text-delta') {
          text += part.text;
          yield part;
          continue;
        }
        // Conversations hold text and a turn offers no tools: an endpoint that calls one anyway
        // (or says it did) has not answered (the text before it is kept as incomplete).
        if (
          part.type === 'tool-call-delta' ||
          (part.type === 'finish' && part.finishReason === 'tool_calls')
        ) {
          settled = true;
          // Before any text the client still gets an HTTP error.
          if (text === '') throw toolCallAnswer();
          await this.store(text, true);
          yield { type: 'error', error: toolCallAnswer() };
          return;
        }
        settled = true;
        if (part.type === 'error') {
          if (text !== '') await this.store(text, true);
          yield part;
          return;
        }
        const usage = this.usageOf(text, part.usage);
        try {
          await this.storeOrThrow(text, false);
        } catch (error) {
          yield {
            type: 'error',
            error: error instanceof AppError ? error : new AppError('store_unavailable'),
          };
          return;
        }
        yield { type: 'finish', finishReason: part.finishReason, usage };
        return;
      }
    } finally {
      // The consumer went away (client disconnect) or the stream broke after some text.
      if (!settled && text !== '') await this.store(text, true);
      this.release();
    }
  }

  /** Frees the conversation; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.engine.release(this.plan.principal.name, this.plan.conversationId);
  }

  /** Usage of the prompt and of `answer`, estimated: what an answer cut short is charged. */
  estimatedUsage(answer: string): Usage {
    return this.usageOf(answer, undefined);
  }

  private usageOf(text: string, reported: Usage | undefined): Usage {
    return reported ?? estimatedUsage(this.plan.promptTokens, text, this.plan.countText);
  }

  private async storeOrThrow(text: string, incomplete: boolean): Promise<void> {
    try {
      await this.write(text, incomplete);
    } catch (error) {
      this.engine.options.logger.error(
        { err: error, conversation: this.plan.conversationId },
        'storing a turn failed',
      );
      throw new AppError(
        'store_unavailable',
        'The answer was generated but could not be stored; retry.',
      );
    }
  }

  /** Best-effort store of a partial answer; a failure is logged, never thrown. */
  private async store(text: string, incomplete: boolean): Promise<void> {
    await this.storeOrThrow(text, incomplete).catch(() => undefined);
  }

  private async write(text: string, incomplete: boolean): Promise<void> {
    const { plan } = this;
    const { ids, clock, store, cache, logger } = this.engine.options;
    const at = clock();
    const messages: NewMessage[] = plan.fresh.map((counted) => ({
      id: ids('msg'),
      role: counted.message.role,
      content: counted.message.content,
      tokens: counted.tokens,
      incomplete: false,
    }));
    const answer = { role: 'assistant' as const, content: text };
    messages.push({
      id: ids('msg'),
      ...answer,
      tokens: messageTokens(answer, plan.countText),
      incomplete,
    });

    const stored = await store.appendTurn({
      conversationId: plan.conversationId,
      principal: plan.principal.name,
      create: plan.title === undefined ? undefined : { title: plan.title },
      systemPrompt: plan.systemPrompt,
      model: plan.model.id,
      messages,
      at,
    });
    if (!stored) {
      cache.delete(plan.conversationId);
      logger.info(
        { conversation: plan.conversationId },
        'conversation was deleted during its turn; answer not stored',
      );
      return;
    }
    cache.set(plan.conversationId, this.nextContext(messages, at));
  }

  /** The cached tail after this turn, trimmed to the budget it was loaded for. */
  private nextContext(messages: NewMessage[], at: number): CachedContext {
    const { plan } = this;
    const previous = plan.context;
    const base = previous?.conversation ?? plan.conversation;
    const firstSeq = (base?.messageCount ?? 0) + 1;
    const conversation: ConversationRecord = {
      id: plan.conversationId,
      principal: plan.principal.name,
      title: base?.title ?? plan.title ?? '',
      model: plan.model.id,
      systemPrompt: plan.systemPrompt ?? base?.systemPrompt,
      createdAt: base?.createdAt ?? at,
      updatedAt: at,
      messageCount: (base?.messageCount ?? 0) + messages.length,
    };
    const records: MessageRecord[] = [
      ...(previous?.messages ?? []),
      ...messages.map((message, index) => ({
        ...message,
        conversationId: plan.conversationId,
        seq: firstSeq + index,
        createdAt: at,
      })),
    ];
    const budgetTokens = previous?.budgetTokens ?? plan.model.capabilities.contextWindow;
    let tokens = records.reduce((sum, record) => sum + record.tokens, 0);
    let olderCount = previous?.olderCount ?? 0;
    while (tokens > budgetTokens && records.length > 0) {
      tokens -= records.shift()!.tokens;
      olderCount++;
    }
    return { conversation, messages: records, olderCount, budgetTokens };
  }
}

/** What a conversation turn answers when the model calls a tool it was never offered. */
function toolCallAnswer(): AppError {
  return new AppError(
    'upstream_bad_response',
    'The model answered with a tool call, which a conversation cannot hold (it offers no tools).',
  );
}
