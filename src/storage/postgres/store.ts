import type pg from 'pg';
import type { DataKeyStore } from '../../security/crypto/index.js';
import type { FieldCipher, FieldMigration, SigningKeyStore, Store, TokenStore } from '../types.js';
import { PostgresAudit } from './audit-store.js';
import { PostgresConversations } from './conversations.js';
import { encryptLegacyFields, forgetFieldsEncrypted } from './legacy-fields.js';
import { postgresMigrations } from './migrations.js';
import { createPool, query, transaction, type PostgresOptions } from './pool.js';
import { PostgresDataKeys, PostgresSigningKeys, PostgresTokens } from './security-stores.js';

/**
 * Opens a PostgreSQL store (`database.url`) and brings its schema up to date. Replicas starting
 * together take turns: migrations run under an advisory lock named after the schema, each
 * version once, all in one transaction (PostgreSQL's DDL is transactional).
 */
export async function openPostgresStore(options: PostgresOptions): Promise<Store> {
  const pool = createPool(options);
  try {
    await migrate(pool, options.schema ?? 'public');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return new PostgresStore(pool);
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const latest = postgresMigrations.at(-1)?.version ?? 0;
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`assistd:migrate:${schema}`]);
    // The name was checked against schemaNamePattern, so it needs no quoting.
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT MAX(version) AS version FROM schema_migrations',
    );
    const current = rows[0]?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database schema is version ${current}, newer than this assistd knows (${latest}); upgrade assistd`,
      );
    }
    for (const migration of postgresMigrations) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [migration.version, migration.name, Date.now()],
      );
    }
  });
}

class PostgresStore implements Store {
  readonly conversations: PostgresConversations;
  readonly tokens: TokenStore;
  readonly signingKeys: SigningKeyStore;
  readonly dataKeys: DataKeyStore;
  readonly audit: PostgresAudit;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {
    this.conversations = new PostgresConversations(pool);
    this.tokens = new PostgresTokens(pool);
    this.signingKeys = new PostgresSigningKeys(pool);
    this.dataKeys = new PostgresDataKeys(pool);
    this.audit = new PostgresAudit(pool);
  }

  async useEncryption(cipher: FieldCipher): Promise<FieldMigration> {
    if (this.conversations.cipher) throw new Error('useEncryption() was already called');
    let migration: FieldMigration = { messages: 0, conversations: 0 };
    if (cipher.encrypts) migration = await encryptLegacyFields(this.pool, cipher);
    else await forgetFieldsEncrypted(this.pool);
    this.conversations.cipher = cipher;
    return migration;
  }

  async check(): Promise<void> {
    await query(this.pool, 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
