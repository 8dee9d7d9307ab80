import { LRUCache } from 'lru-cache';
import type { ContextRecord } from '../storage/types.js';
import type { Clock } from '../util/ids.js';

export interface ContextCacheOptions {
  /** Time to live after last use, in milliseconds (1800 s by default in the config). */
  ttlMs: number;
  maxEntries: number;
  /** Bound on the summed size of cached message content, in bytes. */
  maxBytes: number;
  clock?: Clock;
}

/** A cached conversation tail, loaded for a budget of `budgetTokens`. */
export interface CachedContext extends ContextRecord {
  budgetTokens: number;
}

export interface ContextCacheStats {
  hits: number;
  misses: number;
  /** Entries pushed out to respect `maxEntries` or `maxBytes`. */
  evictions: number;
  /** Entries dropped because their TTL passed. */
  expirations: number;
  entries: number;
  bytes: number;
}

/**
 * Where the dialog engine keeps hot context: in process (`ContextCache`), or shared by replicas
 * through Redis with this process's cache in front (cache/redis-context-cache.ts). An entry's
 * version is its `conversation.messageCount`: where several replicas write one store, the engine
 * checks it against the store before using an entry.
 */
export interface ConversationCache {
  get(conversationId: string): CachedContext | undefined | Promise<CachedContext | undefined>;
  set(conversationId: string, entry: CachedContext): void;
  delete(conversationId: string): void;
  stats(): ContextCacheStats;
}

/**
 * Hot conversation context kept in process, so a follow-up turn does not read the store.
 * Bounded in entries, bytes and time; the store stays the source of truth.
 */
export class ContextCache implements ConversationCache {
  private readonly cache: LRUCache<string, CachedContext>;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private expirations = 0;

  constructor(options: ContextCacheOptions) {
    const clock = options.clock;
    this.cache = new LRUCache<string, CachedContext>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => Math.max(1, entrySize(entry)),
      ttl: options.ttlMs,
      updateAgeOnGet: true,
      // Read the clock on every check (the default caches it for 1 ms, which an injected clock defeats).
      ttlResolution: 0,
      ...(clock ? { perf: { now: clock } } : {}),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
        else if (reason === 'expire') this.expirations++;
      },
    });
  }

  get(conversationId: string): CachedContext | undefined {
    const entry = this.cache.get(conversationId);
    if (entry) this.hits++;
    else this.misses++;
    return entry;
  }

  set(conversationId: string, entry: CachedContext): void {
    this.cache.set(conversationId, entry);
  }

  delete(conversationId: string): void {
    this.cache.delete(conversationId);
  }

  stats(): ContextCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      expirations: this.expirations,
      entries: this.cache.size,
      bytes: this.cache.calculatedSize,
    };
  }
}

/** Approximate bytes held: UTF-16 text of every message (content parts included). */
export function entrySize(entry: CachedContext): number {
  let size = 256 + (entry.conversation.systemPrompt?.length ?? 0) * 2;
  for (const message of entry.messages) {
    size += 128;
    if (typeof message.content === 'string') {
      size += message.content.length * 2;
    } else {
      for (const part of message.content) {
        size += 2 * (part.type === 'text' ? part.text.length : part.image_url.url.length);
      }
    }
  }
  return size;
}
