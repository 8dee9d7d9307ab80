import type { MessageContent, Role } from '../providers/types.js';
import type { DataKeyStore } from '../security/crypto/index.js';
import type { AuditStore } from './audit-types.js';

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

export interface MessagePageQuery {
  limit: number;
  /** Only messages with a lower `seq` (the previous page's first); absent: the newest. */
  beforeSeq?: number | undefined;
}

/** `messages` oldest first; `hasMore`: older messages exist before `messages[0]`. */
export interface MessagePage {
  messages: MessageRecord[];
  hasMore: boolean;
}

/**
 * Conversations and their messages. Every read and write is scoped to a principal: another
 * principal's conversation behaves exactly like a missing one.
 *
 * Message contents, titles and system prompts are stored encrypted (see `FieldCipher`), so SQL
 * cannot look inside them: a title search (`LIKE`, FTS) over the stored column would only see
 * ciphertext. A search has to decrypt the principal's titles in the process, or keep a separate
 * index that is itself protected (blind index), and must be designed as such.
 */
export interface ConversationStore {
  /** Writes a turn atomically; false when the conversation no longer exists (deleted meanwhile). */
  appendTurn(turn: TurnRecord): Promise<boolean>;
  getConversation(principal: string, id: string): Promise<ConversationRecord | undefined>;
  /**
   * The conversation's message count (undefined when it is missing): the version a cached
   * context is checked against when other processes may have written it.
   */
  messageCount(principal: string, id: string): Promise<number | undefined>;
  /**
   * A page of the conversation's messages, oldest first: the newest `limit` of those before
   * `beforeSeq` (of all when absent). Undefined when the conversation is missing.
   */
  messagePage(
    principal: string,
    id: string,
    page: MessagePageQuery,
  ): Promise<MessagePage | undefined>;
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

/** A JWT issued by this service (`tokens issue`, `POST /admin/tokens`): facts, never the token. */
export interface IssuedJwtRecord {
  /** The token's `jti`. */
  id: string;
  principal: string;
  groups: readonly string[];
  /** The key that signed it. */
  kid: string;
  /** Who issued it: an administrator's principal, or undefined from the CLI. */
  issuedBy: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/** One row of the token list: an issued JWT or an opaque token, and whether it was revoked. */
export interface TokenListing {
  id: string;
  type: 'jwt' | 'opaque';
  principal: string;
  /** An opaque token has the `admin` group or none. */
  groups: string[];
  kid: string | undefined;
  issuedBy: string | undefined;
  createdAt: number;
  expiresAt: number | undefined;
  revokedAt: number | undefined;
}

/** Who a token issued here was issued to (an opaque token has the `admin` group or none). */
export interface IssuedTokenFacts {
  principal: string;
  groups: string[];
}

export interface TokenListQuery {
  /** Tokens that expired at or before `now` are left out unless `includeExpired`. */
  now: number;
  includeExpired: boolean;
  limit: number;
  /** Newest first; a page continues after this row (its `createdAt` and `id`). */
  before?: { createdAt: number; id: string } | undefined;
}

export interface TokenStore {
  insertToken(token: TokenRecord): Promise<void>;
  /** Registers a JWT that was issued, so it can be listed and revoked by its `jti`. */
  recordIssued(token: IssuedJwtRecord): Promise<void>;
  /** JWTs issued here and opaque tokens, newest first (`createdAt`, then `id`, descending). */
  listTokens(query: TokenListQuery): Promise<TokenListing[]>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  /**
   * Who a token was issued to, when `id` is an opaque token's id or a registered JWT's `jti`
   * (issued by this service); undefined for any other id.
   */
  issuedToken(id: string): Promise<IssuedTokenFacts | undefined>;
  /** Marks a token revoked; false when it already was. */
  revoke(revocation: RevocationRecord): Promise<boolean>;
  isRevoked(id: string): Promise<boolean>;
  /**
   * `isRevoked`'s answer when the store has it at hand (SQLite: from memory, as `isRevoked`
   * itself answers); absent or undefined when only `isRevoked` can tell. Lets a request whose
   * token verified before be authenticated without waiting.
   */
  isRevokedNow?(id: string): boolean | undefined;
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

/**
 * Encrypts the text columns that hold what users wrote: message contents (their JSON), conversation
 * titles and system prompts. Implemented over the envelope encryption by `security/field-cipher.ts`
 * (`fieldCipher`, or `plaintextFields` for tests); storage never sees keys or the crypto module.
 * `context` names the row and column a value belongs to (see `storage/fields.ts`), so ciphertext
 * copied into another row or column fails to decrypt.
 */
export interface FieldCipher {
  /** False for `plaintextFields` only: values are written as given and nothing is migrated. */
  readonly encrypts: boolean;
  /** The stored form of `plaintext`; synchronous and in memory (it runs per written value). */
  encrypt(plaintext: string, context: string): string;
  /** The plaintext of a value `isEncrypted` accepts; throws when it does not authenticate. */
  decrypt(stored: string, context: string): string;
  /**
   * Whether a stored value is ciphertext. False for legacy plaintext written before encryption
   * at rest existed, which reads return as is (and the first encrypting start rewrites).
   */
  isEncrypted(stored: string): boolean;
  /**
   * Called, outside any transaction, with what `decrypt` threw: fetches what the value needs and
   * this process lacks (a data key another process made after this one opened the store), and
   * resolves true when the read should be tried again. Optional; absent means never.
   */
  recover?(failure: unknown): Promise<boolean>;
}

/** What `Store.useEncryption` rewrote: rows that still held plaintext. */
export interface FieldMigration {
  /** Messages whose content was encrypted. */
  messages: number;
  /** Conversations whose title or system prompt was encrypted. */
  conversations: number;
}

// The audit log's types (security/audit) live in audit-types.ts.
export * from './audit-types.js';

/** Everything the service persists, behind one connection. */
export interface Store {
  readonly conversations: ConversationStore;
  readonly tokens: TokenStore;
  readonly signingKeys: SigningKeyStore;
  /** Wrapped data keys of the encryption at rest (security/crypto). */
  readonly dataKeys: DataKeyStore;
  /** The hash-chained audit log (security/audit). */
  readonly audit: AuditStore;
  /**
   * Chooses how conversation text is stored; called once, before the first conversation read or
   * write, which are refused until then (deleting works without it). With an encrypting cipher it first encrypts every row
   * that still holds plaintext (data written before encryption at rest), so none is left after
   * the first start, and resolves to how many it rewrote.
   *
   * Why the choice is explicit (`plaintextFields` for plaintext) rather than plaintext by
   * default: the cipher can only be made after the store is open (its data keys live in this
   * store), so there is a window in which the store exists without it. Were plaintext the
   * default, a new entry point that forgot this call would write conversations in clear without
   * any sign; refusing makes the omission fail on the first use, and a plaintext store shows up
   * in the code as the word `plaintextFields`.
   */
  useEncryption(cipher: FieldCipher): Promise<FieldMigration>;
  /** Throws when the store cannot serve (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}
