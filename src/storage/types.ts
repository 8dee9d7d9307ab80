import type { MessageContent, Role } from '../providers/types.js';
import type { DataKeyStore } from '../security/crypto/index.js';

/** Times are milliseconds since the epoch. */
export interface ConversationRecord {
  id: string;
  principal: string;
  title: string;
  model: string;
  systemPrompt: string | undefined;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
}

export interface MessageRecord {
  id: string;
  conversationId: string;
  /** 1, 2, 3… within the conversation, with no gaps. */
  seq: number;
  role: Role;
  content: MessageContent;
  /** Token estimate made when the message was stored. */
  tokens: number;
  /** True for an answer cut short by an error, a disconnect or shutdown. */
  incomplete: boolean;
  createdAt: number;
}

export type NewMessage = Pick<MessageRecord, 'id' | 'role' | 'content' | 'tokens' | 'incomplete'>;

/** One chat turn: the caller's new messages and the answer, written in one transaction. */
export interface TurnRecord {
  conversationId: string;
  principal: string;
  /** Set when this turn starts the conversation. */
  create?: { title: string } | undefined;
  /** Replaces the conversation's system prompt when set. */
  systemPrompt?: string | undefined;
  model: string;
  messages: NewMessage[];
  at: number;
}

/** The tail of a conversation that fits a token budget, oldest first. */
export interface ContextRecord {
  conversation: ConversationRecord;
  messages: MessageRecord[];
  /** Messages older than `messages[0]` that were left in the store. */
  olderCount: number;
}

/** Position in the newest-first list of conversations (exclusive). */
export interface ConversationCursor {
  updatedAt: number;
  id: string;
}

export interface ConversationPage {
  items: ConversationRecord[];
  hasMore: boolean;
}

/**
 * Conversations and their messages. Every read and write is scoped to a principal: another
 * principal's conversation behaves exactly like a missing one.
 */
export interface ConversationStore {
  /** Writes a turn atomically; false when the conversation no longer exists (deleted meanwhile). */
  appendTurn(turn: TurnRecord): Promise<boolean>;
  getConversation(principal: string, id: string): Promise<ConversationRecord | undefined>;
  listMessages(principal: string, id: string): Promise<MessageRecord[] | undefined>;
  /** The newest messages whose tokens sum to at most `maxTokens`. */
  loadContext(principal: string, id: string, maxTokens: number): Promise<ContextRecord | undefined>;
  /** Newest activity first. */
  listConversations(
    principal: string,
    page: { limit: number; after?: ConversationCursor | undefined },
  ): Promise<ConversationPage>;
  renameConversation(
    principal: string,
    id: string,
    title: string,
    at: number,
  ): Promise<ConversationRecord | undefined>;
  deleteConversation(principal: string, id: string): Promise<boolean>;
}

export interface TokenRecord {
  id: string;
  principal: string;
  /** SHA-256 of the token's secret part. */
  secretHash: Buffer;
  admin: boolean;
  createdAt: number;
  expiresAt: number | undefined;
}

/** A revoked token: an opaque token's id or a JWT's `jti`. */
export interface RevocationRecord {
  id: string;
  revokedAt: number;
  /** When the token would have expired anyway; the row may be dropped after it. */
  expiresAt: number | undefined;
}

export interface TokenStore {
  insertToken(token: TokenRecord): Promise<void>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  /** Marks a token revoked; false when it already was. */
  revoke(revocation: RevocationRecord): Promise<boolean>;
  isRevoked(id: string): Promise<boolean>;
  /**
   * Inserts the first administrator token unless one was created before on this store; true when
   * it was inserted (so its secret must be shown, once).
   */
  insertBootstrapToken(token: TokenRecord): Promise<boolean>;
}

/** A key of the signing keyring; see security/keyring.ts for what the times mean. */
export interface SigningKeyRecord {
  kid: string;
  /** SPKI PEM. */
  publicKeyPem: string;
  /** The PKCS#8 private key, sealed (encrypted); undefined for an imported public key. */
  privateKeySealed: string | undefined;
  source: 'generated' | 'imported';
  createdAt: number;
  /** The key signs new tokens until then; undefined for a key that never signs. */
  signsUntil: number | undefined;
  /** The key verifies tokens until then; undefined: until it is retired by hand. */
  verifiesUntil: number | undefined;
  retiredAt: number | undefined;
}

export interface SigningKeyStore {
  list(): Promise<SigningKeyRecord[]>;
  insert(key: SigningKeyRecord): Promise<void>;
  /**
   * Rotation in one transaction: when the key that signs at `now` is still `expectedActive`
   * (undefined: none signs), it stops signing at `now` and verifies until `previousVerifiesUntil`,
   * and `next` is inserted. False (nothing written) when another process rotated first.
   */
  rotate(
    expectedActive: string | undefined,
    next: SigningKeyRecord,
    now: number,
    previousVerifiesUntil: number,
  ): Promise<boolean>;
  /** Marks a key retired; false when there is no such key or it already was. */
  retire(kid: string, at: number): Promise<boolean>;
}

/** Everything the service persists, behind one connection. */
export interface Store {
  readonly conversations: ConversationStore;
  readonly tokens: TokenStore;
  readonly signingKeys: SigningKeyStore;
  /** Wrapped data keys of the encryption at rest (security/crypto). */
  readonly dataKeys: DataKeyStore;
  /** Throws when the store cannot serve (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}
