import type { ConversationRecord, FieldCipher } from './types.js';

/**
 * The encryption contexts of the encrypted columns: table, column and the row's primary key. Every
 * backend uses these same strings, so a database can be copied between backends without
 * re-encryption; changing one makes every stored value of that column unreadable.
 */
export const fieldContext = {
  messageContent: (messageId: string) => `messages.content:${messageId}`,
  title: (conversationId: string) => `conversations.title:${conversationId}`,
  systemPrompt: (conversationId: string) => `conversations.system_prompt:${conversationId}`,
} as const;

/**
 * A stored value that could not be decrypted: altered, copied from another row, or encrypted
 * under a data key that is gone. It is internal (the HTTP layer answers 500 `internal_error` and
 * logs it); the message names the row (`context`) and the reason, never plaintext or key bytes.
 */
export class UnreadableFieldError extends Error {
  override readonly name = 'UnreadableFieldError';

  constructor(
    /** Which value, such as `messages.content:msg_…`. */
    readonly context: string,
    cause: unknown,
  ) {
    super(`cannot decrypt ${context}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** Thrown on conversation access before `Store.useEncryption` chose how to store text. */
export class FieldCipherMissingError extends Error {
  override readonly name = 'FieldCipherMissingError';

  constructor() {
    super(
      'conversations are unavailable until Store.useEncryption() is called ' +
        '(with fieldCipher(crypto), or plaintextFields in tests)',
    );
  }
}

/** The plaintext of a stored value: decrypted, or returned as is when it is legacy plaintext. */
export function readField(cipher: FieldCipher, stored: string, context: string): string {
  if (!cipher.isEncrypted(stored)) return stored;
  try {
    return cipher.decrypt(stored, context);
  } catch (error) {
    throw new UnreadableFieldError(context, error);
  }
}

/**
 * Reads with up to this many recoveries: each can fetch one data key that another process made,
 * and one page of conversations may hold values from a few processes.
 */
const maxRecoveries = 8;

/**
 * Runs a synchronous read that decrypts; when a value needs something this process lacks (see
 * `FieldCipher.recover`), fetches it and runs the read again. Throws become rejections.
 */
export async function readDecrypting<T>(cipher: FieldCipher, read: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof UnreadableFieldError) || !cipher.recover || attempt >= maxRecoveries) {
        throw error;
      }
      let retry: boolean;
      try {
        retry = await cipher.recover(error.cause);
      } catch (failure) {
        throw new UnreadableFieldError(error.context, failure);
      }
      if (!retry) throw error;
    }
  }
}

/** A `conversations` row as both backends return it. */
export interface ConversationRow {
  id: string;
  principal: string;
  title: string;
  model: string;
  system_prompt: string | null;
  created_at: number;
  updated_at: number;
  message_count: number;
}

/** The record of a `conversations` row, its title and system prompt decrypted. */
export function conversationFromRow(fields: FieldCipher, row: ConversationRow): ConversationRecord {
  return {
    id: row.id,
    principal: row.principal,
    title: readField(fields, row.title, fieldContext.title(row.id)),
    model: row.model,
    systemPrompt:
      row.system_prompt === null
        ? undefined
        : readField(fields, row.system_prompt, fieldContext.systemPrompt(row.id)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
  };
}
