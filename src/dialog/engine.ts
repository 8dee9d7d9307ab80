import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { assertContentAccepted } from '../providers/content.js';
import type { ModelRegistry } from '../providers/registry.js';
import type { ConversationMessage, ChatModel, ContentPart } from '../providers/types.js';
import type { Principal } from '../security/tokens.js';
import type { ConversationRecord, ConversationStore, MessageRecord } from '../storage/types.js';
import type { Clock, IdGenerator } from '../util/ids.js';
import { buildPrompt, type CountedMessage } from './context.js';
import type { CachedContext, ConversationCache } from './context-cache.js';
import { messageTokens, textCounter } from './token-estimate.js';
import { Turn } from './turn.js';

export interface DialogEngineOptions {
  store: ConversationStore;
  cache: ConversationCache;
  /**
   * Other processes write the same conversations (a shared database or a shared cache): a cached
   * context is used only when its version (message count) matches the store's.
   */
  checkCachedVersions?: boolean;
  models: ModelRegistry;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Tokens reserved for the answer when a request does not set `max_tokens`. */
  defaultMaxTokens: number;
}

/** What a caller asks of one chat turn, already validated for shape. */
export interface TurnInput {
  principal: Principal;
  conversationId?: string | undefined;
  model?: string | undefined;
  messages: readonly ConversationMessage[];
  temperature?: number | undefined;
  topP?: number | undefined;
  maxTokens?: number | undefined;
  stop?: readonly string[] | undefined;
  seed?: number | undefined;
}

/**
 * The dialog engine: loads a conversation's context (cache first, store on a miss), fits it with
 * the new messages into the model's window, and hands back a `Turn` that runs the model and stores
 * the result. One turn per conversation runs at a time.
 */
/** A running turn's entry; the length prefix keeps any two pairs apart, whatever they hold. */
function busyKey(principal: string, conversationId: string): string {
  return `${principal.length}:${principal}${conversationId}`;
}

export class DialogEngine {
  /**
   * Conversations with a turn running, by owner and id (`busyKey`): one entry per turn in flight
   * (so at most one per open request, `limits.max_connections`), removed when the turn ends
   * however it ends. Keyed by the caller too, so another principal naming the id is never told
   * it is busy (409 would say it exists: theirs is a 404) and never holds it for a moment.
   */
  private readonly busy = new Set<string>();

  constructor(readonly options: DialogEngineOptions) {}

  /** Turns running now (prepared and not yet finished). */
  get activeTurns(): number {
    return this.busy.size;
  }

  async prepare(input: TurnInput): Promise<Turn> {
    const { system, fresh } = splitMessages(input.messages);
    const conversationId = input.conversationId ?? this.options.ids('conv');
    const isNew = input.conversationId === undefined;
    const key = busyKey(input.principal.name, conversationId);
    if (!isNew) {
      if (this.busy.has(key)) throw new AppError('conversation_busy');
    }
    this.busy.add(key);
    try {
      const cached = isNew ? undefined : await this.cached(input.principal, conversationId);
      const existing = isNew
        ? undefined
        : await this.loadConversation(input.principal, conversationId, cached);
      const model = this.resolveModel(input.model, existing);
      assertContentAccepted(model, input.messages);
      const context =
        existing && (await this.loadContext(input.principal, existing, model, cached));
      const count = textCounter(model);
      const systemPrompt = system ?? context?.conversation.systemPrompt;
      const systemMessage: ConversationMessage | undefined =
        systemPrompt === undefined ? undefined : { role: 'system', content: systemPrompt };
      const freshCounted = fresh.map((message) => ({
        message,
        tokens: messageTokens(message, count),
      }));
      // Without max_tokens, the answer's reserve never takes more than a quarter of the window,
      // so small local windows still hold history; the model caps a longer answer ("length").
      const maxTokens =
        input.maxTokens ??
        Math.min(this.options.defaultMaxTokens, Math.floor(model.capabilities.contextWindow / 4));
      const prompt = buildPrompt({
        system: systemMessage && {
          message: systemMessage,
          tokens: messageTokens(systemMessage, count),
        },
        history: (context?.messages ?? []).map((record) => toCounted(record, model, count)),
        olderCount: context?.olderCount ?? 0,
        fresh: freshCounted,
        budgetTokens: model.capabilities.contextWindow - maxTokens,
        templateTokens: model.capabilities.templateTokens,
      });
      if (!prompt.fits) {
        throw new AppError(
          'context_length_exceeded',
          `The new messages need about ${prompt.requiredTokens} tokens, but model "${model.id}" has a ` +
            `${model.capabilities.contextWindow}-token window and ${maxTokens} are reserved for the answer.`,
          { param: 'messages' },
        );
      }
      return new Turn(this, {
        id: this.options.ids('chat'),
        principal: input.principal,
        conversationId,
        conversation: context?.conversation,
        context,
        title: isNew ? titleFrom(fresh) : undefined,
        systemPrompt: system,
        model,
        fresh: freshCounted,
        request: {
          messages: prompt.messages,
          temperature: input.temperature,
          topP: input.topP,
          maxTokens: input.maxTokens,
          stop: input.stop,
          seed: input.seed,
        },
        promptTokens: prompt.promptTokens,
        omittedMessages: prompt.omittedMessages,
        countText: count,
      });
    } catch (error) {
      this.busy.delete(key);
      throw error;
    }
  }

  /** The cached context, when there is one this turn may use. */
  private async cached(principal: Principal, id: string): Promise<CachedContext | undefined> {
    const entry = await this.options.cache.get(id);
    if (!entry || entry.conversation.principal !== principal.name) return undefined;
    if (!this.options.checkCachedVersions) return entry;
    const count = await this.options.store.messageCount(principal.name, id);
    if (count === entry.conversation.messageCount) return entry;
    // Another replica wrote this conversation since (or deleted it): read the store.
    this.options.cache.delete(id);
    return undefined;
  }

  /** Called by a `Turn` when it has finished. */
  release(principal: string, conversationId: string): void {
    this.busy.delete(busyKey(principal, conversationId));
  }

  private async loadConversation(
    principal: Principal,
    id: string,
    cached: CachedContext | undefined,
  ): Promise<ConversationRecord> {
    if (cached && cached.conversation.principal === principal.name) return cached.conversation;
    const conversation = await this.options.store.getConversation(principal.name, id);
    if (!conversation)
      throw new AppError('conversation_not_found', undefined, { param: 'conversation_id' });
    return conversation;
  }

  private resolveModel(
    requested: string | undefined,
    conversation: ConversationRecord | undefined,
  ) {
    if (requested !== undefined) return this.options.models.resolve(requested);
    // A follow-up keeps its conversation's model while that model is still offered.
    const previous = conversation?.model;
    if (previous !== undefined && this.options.models.isAvailable(previous)) {
      return this.options.models.resolve(previous);
    }
    return this.options.models.resolve(undefined);
  }

  private async loadContext(
    principal: Principal,
    conversation: ConversationRecord,
    model: ChatModel,
    cached: CachedContext | undefined,
  ): Promise<CachedContext> {
    const budget = model.capabilities.contextWindow;
    const usable =
      cached &&
      cached.conversation.principal === principal.name &&
      (cached.budgetTokens >= budget || cached.olderCount === 0);
    if (usable) return cached;
    const loaded = await this.options.store.loadContext(principal.name, conversation.id, budget);
    if (!loaded)
      throw new AppError('conversation_not_found', undefined, { param: 'conversation_id' });
    const entry = { ...loaded, budgetTokens: budget };
    this.options.cache.set(conversation.id, entry);
    return entry;
  }
}

/** System messages become the conversation's system prompt; the rest are the turn's messages. */
function splitMessages(messages: readonly ConversationMessage[]) {
  const systemTexts: string[] = [];
  const fresh: ConversationMessage[] = [];
  messages.forEach((message, index) => {
    if (message.role !== 'system') {
      fresh.push(message);
      return;
    }
    if (typeof message.content === 'string') {
      systemTexts.push(message.content);
    } else if (message.content.every((part) => part.type === 'text')) {
      systemTexts.push(message.content.map((part) => (part as { text: string }).text).join(''));
    } else {
      throw new AppError('unsupported_content', 'A system message can only hold text.', {
        param: `messages[${index}].content`,
      });
    }
  });
  const last = fresh.at(-1);
  if (!last) {
    throw new AppError('invalid_request', 'messages must hold at least one user message.', {
      param: 'messages',
    });
  }
  if (last.role !== 'user') {
    throw new AppError('invalid_request', 'The last message must have role "user".', {
      param: 'messages',
    });
  }
  return { system: systemTexts.length > 0 ? systemTexts.join('\n\n') : undefined, fresh };
}

/**
 * Token counts of stored messages for the model at hand, by message: a stored count is the
 * counter of the model that answered that turn (an endpoint's estimate, or another tokenizer),
 * which can be several times off for another model; kept per record, so a cached context is
 * counted once per model.
 */
const countedFor = new WeakMap<MessageRecord, { model: ChatModel; tokens: number }>();

/**
 * A stored message as the model at hand sees it, counted with its counter. History for a model
 * without image input keeps the text of messages that had images.
 */
function toCounted(
  record: MessageRecord,
  model: ChatModel,
  count: (text: string) => number,
): CountedMessage {
  let content = record.content;
  if (!model.capabilities.images && typeof content !== 'string') {
    content = content.filter((part): part is ContentPart => part.type === 'text');
  }
  const message = { role: record.role, content };
  let counted = countedFor.get(record);
  if (counted?.model !== model) {
    counted = { model, tokens: messageTokens(message, count) };
    countedFor.set(record, counted);
  }
  return { message, tokens: counted.tokens };
}

function titleFrom(messages: readonly ConversationMessage[]): string {
  const first = messages.find((message) => message.role === 'user');
  const text =
    first === undefined
      ? ''
      : typeof first.content === 'string'
        ? first.content
        : first.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
  const collapsed = text.replace(/\s+/g, ' ').trim();
  if (collapsed === '') return 'New conversation';
  const chars = [...collapsed];
  return chars.length <= 80 ? collapsed : `${chars.slice(0, 79).join('')}…`;
}
