import type {
  CachedContext,
  ContextCache,
  ContextCacheStats,
  ConversationCache,
} from '../dialog/context-cache.js';
import type { FieldCipher } from '../storage/types.js';
import type { SharedRedis } from './redis.js';

/** Entries larger than this (serialised) stay in process only. */
const maxSharedBytes = 1024 * 1024;

/**
 * The context cache shared by replicas: this process's `ContextCache` in front, Redis behind, so
 * a conversation that moves to another replica still skips the store. What goes to Redis is the
 * entry's JSON encrypted like stored conversations (AES-256-GCM under the data keys, bound to
 * the conversation id), so Redis never holds conversation text in clear.
 *
 * Entries may be stale when several replicas write one conversation; the engine checks an
 * entry's version (its message count) against the store before use. While Redis does not answer,
 * the process cache serves alone (counted as a fallback, logged once per outage).
 */
export class RedisContextCache implements ConversationCache {
  private sharedHits = 0;

  constructor(
    private readonly redis: SharedRedis,
    private readonly local: ContextCache,
    private readonly cipher: FieldCipher,
    private readonly ttlMs: number,
  ) {}

  async get(conversationId: string): Promise<CachedContext | undefined> {
    const near = this.local.get(conversationId);
    if (near || !this.redis.up) return near;
    let stored: string | null;
    try {
      stored = await this.redis.client.get(this.key(conversationId));
      if (stored !== null) await this.redis.client.pexpire(this.key(conversationId), this.ttlMs);
    } catch (error) {
      this.redis.fellBack('context_cache', error);
      return undefined;
    }
    if (stored === null) return undefined;
    let entry: CachedContext;
    try {
      entry = JSON.parse(this.cipher.decrypt(stored, context(conversationId))) as CachedContext;
    } catch (error) {
      // Altered, or sealed under a data key this process cannot open: treated as a miss.
      this.redis.fellBack('context_cache_unreadable', error);
      return undefined;
    }
    this.sharedHits += 1;
    this.local.set(conversationId, entry);
    return entry;
  }

  set(conversationId: string, entry: CachedContext): void {
    this.local.set(conversationId, entry);
    if (!this.redis.up) return;
    const sealed = this.cipher.encrypt(JSON.stringify(entry), context(conversationId));
    if (sealed.length > maxSharedBytes) return;
    this.redis.client
      .set(this.key(conversationId), sealed, 'PX', this.ttlMs)
      .catch((error: unknown) => this.redis.fellBack('context_cache', error));
  }

  delete(conversationId: string): void {
    this.local.delete(conversationId);
    this.redis.client
      .del(this.key(conversationId))
      .catch((error: unknown) => this.redis.fellBack('context_cache', error));
  }

  /** The process cache's figures, with a hit from Redis counted as a hit rather than a miss. */
  stats(): ContextCacheStats {
    const stats = this.local.stats();
    return { ...stats, hits: stats.hits + this.sharedHits, misses: stats.misses - this.sharedHits };
  }

  private key(conversationId: string): string {
    return `${this.redis.prefix}ctx:${conversationId}`;
  }
}

function context(conversationId: string): string {
  return `context_cache:${conversationId}`;
}
