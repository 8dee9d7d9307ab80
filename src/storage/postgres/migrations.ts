import type { Migration } from '../sqlite/migrations.js';

/**
 * The PostgreSQL schema, numbered like SQLite's (same versions, same tables and columns), so the
 * two stay in step: a version adds the same thing to both. Never edit one that has shipped.
 *
 * Times are BIGINT milliseconds; identifiers use the "C" collation so that ordering by id is
 * byte order, as in SQLite (pagination cursors compare ids).
 */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations, messages, tokens',
    sql: `
      CREATE TABLE conversations (
        id TEXT COLLATE "C" PRIMARY KEY,
        principal TEXT NOT NULL,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        system_prompt TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX conversations_by_principal
        ON conversations (principal, updated_at DESC, id DESC);

      CREATE TABLE messages (
        id TEXT COLLATE "C" PRIMARY KEY,
        conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        incomplete BOOLEAN NOT NULL DEFAULT false,
        created_at BIGINT NOT NULL,
        UNIQUE (conversation_id, seq)
      );

      CREATE TABLE api_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        principal TEXT NOT NULL,
        secret_hash BYTEA NOT NULL,
        admin BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT
      );

      CREATE TABLE meta (
        key TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'signing keys, token revocations',
    sql: `
      CREATE TABLE signing_keys (
        kid TEXT COLLATE "C" PRIMARY KEY,
        public_key_pem TEXT NOT NULL,
        private_key_sealed TEXT,
        source TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
        created_at BIGINT NOT NULL,
        signs_until BIGINT,
        verifies_until BIGINT,
        retired_at BIGINT
      );

      CREATE TABLE revoked_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        revoked_at BIGINT NOT NULL,
        expires_at BIGINT
      );
    `,
  },
  {
    version: 3,
    name: 'data keys for encryption at rest',
    sql: `
      CREATE TABLE data_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        master_version INTEGER NOT NULL,
        wrapped BYTEA NOT NULL,
        created_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'audit log: hash-chained records, signed checkpoints',
    // Append-only by trigger (row updates and deletes, and TRUNCATE): a defence against
    // mistakes, not against a database superuser (the hash chain and the signed checkpoints are
    // what detect that). No secondary index, as in SQLite (see AuditQuery).
    sql: `
      CREATE FUNCTION assistd_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% are append-only', TG_ARGV[0]; END
      $$;

      CREATE TABLE audit_records (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
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
        latency_ms DOUBLE PRECISION,
        details TEXT,
        prev_hash BYTEA NOT NULL,
        hash BYTEA NOT NULL
      );
      CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION assistd_append_only('audit records');
      CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
        FOR EACH STATEMENT EXECUTE FUNCTION assistd_append_only('audit records');

      CREATE TABLE audit_checkpoints (
        seq BIGINT PRIMARY KEY,
        head_hash BYTEA NOT NULL,
        at BIGINT NOT NULL,
        prev_signature BYTEA,
        kid TEXT NOT NULL,
        signature BYTEA NOT NULL
      );
      CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
        FOR EACH ROW EXECUTE FUNCTION assistd_append_only('audit checkpoints');
      CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION assistd_append_only('audit checkpoints');
    `,
  },
  {
    version: 5,
    name: 'issued JWTs (listed and revoked from the admin API and the console)',
    sql: `
      CREATE TABLE issued_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        principal TEXT NOT NULL,
        groups TEXT NOT NULL,
        kid TEXT NOT NULL,
        issued_by TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX issued_tokens_by_time ON issued_tokens (created_at DESC, id DESC);
      CREATE INDEX api_tokens_by_time ON api_tokens (created_at DESC, id DESC);
    `,
  },
];
