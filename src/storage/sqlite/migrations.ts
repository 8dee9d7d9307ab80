/**
 * Numbered schema migrations, applied in order, each once, each in its own transaction.
 * Never edit a migration that has shipped: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations, messages, tokens',
    sql: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        system_prompt TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX conversations_by_principal
        ON conversations (principal, updated_at DESC, id DESC);

      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        incomplete INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        UNIQUE (conversation_id, seq)
      ) STRICT;

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        admin INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      ) STRICT;

      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'signing keys, token revocations',
    sql: `
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        public_key_pem TEXT NOT NULL,
        private_key_sealed TEXT,
        source TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
        created_at INTEGER NOT NULL,
        signs_until INTEGER,
        verifies_until INTEGER,
        retired_at INTEGER
      ) STRICT;

      CREATE TABLE revoked_tokens (
        id TEXT PRIMARY KEY,
        revoked_at INTEGER NOT NULL,
        expires_at INTEGER
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: 'data keys for encryption at rest',
    sql: `
      CREATE TABLE data_keys (
        id TEXT PRIMARY KEY,
        master_version INTEGER NOT NULL,
        wrapped BLOB NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
