import type Database from 'better-sqlite3';

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
  {
    version: 4,
    name: 'audit log: hash-chained records, signed checkpoints',
    // Append-only by trigger: a defence against mistakes, not against someone with write access
    // to the file (the hash chain and the signed checkpoints are what detect that). No secondary
    // index: each one cost about 5 µs per request in commits; filtered queries scan a bounded
    // range of seq instead (see AuditQuery).
    sql: `
      CREATE TABLE audit_records (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        request_id TEXT,
        principal TEXT,
        auth TEXT,
        ip TEXT,
        user_agent TEXT,
        method TEXT,
        action TEXT,
        resource TEXT,
        decision TEXT,
        statement TEXT,
        status INTEGER,
        error TEXT,
        latency_ms REAL,
        details TEXT,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
      CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

      CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        head_hash BLOB NOT NULL,
        at INTEGER NOT NULL,
        prev_signature BLOB,
        kid TEXT NOT NULL,
        signature BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
      CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
    `,
  },
  {
    version: 5,
    name: 'issued JWTs (listed and revoked from the admin API and the console)',
    // Facts about each JWT issued here, never the token: it cannot be rebuilt from this table.
    sql: `
      CREATE TABLE issued_tokens (
        id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        groups TEXT NOT NULL,
        kid TEXT NOT NULL,
        issued_by TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX issued_tokens_by_time ON issued_tokens (created_at DESC, id DESC);
      CREATE INDEX api_tokens_by_time ON api_tokens (created_at DESC, id DESC);
    `,
  },
];

/** Applies pending migrations; refuses a database written by a newer version. */
export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const latest = migrations.at(-1)?.version ?? 0;
  // IMMEDIATE takes the write lock first, so two processes never apply the same migration.
  db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database schema is version ${current}, newer than this assistd knows (${latest}); upgrade assistd`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
  }).immediate();
}
