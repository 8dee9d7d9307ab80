import type pg from 'pg';
import type { DataKeyStore, WrappedDataKey } from '../../security/crypto/index.js';
import {
  issuedTokenColumns,
  issuedTokenValues,
  issuedTokenSql,
  toIssuedToken,
  tokenListSql,
  tokenListValues,
  toTokenListing,
  type TokenListRow,
} from '../token-rows.js';
import type {
  IssuedJwtRecord,
  IssuedTokenFacts,
  RevocationRecord,
  SigningKeyRecord,
  SigningKeyStore,
  TokenListing,
  TokenListQuery,
  TokenRecord,
  TokenStore,
} from '../types.js';
import { query, transaction } from './pool.js';

interface TokenRow {
  id: string;
  principal: string;
  secret_hash: Buffer;
  admin: boolean;
  created_at: number;
  expires_at: number | null;
}

const insertTokenSql = `INSERT INTO api_tokens (id, principal, secret_hash, admin, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6)`;

function tokenValues(token: TokenRecord): unknown[] {
  return [
    token.id,
    token.principal,
    token.secretHash,
    token.admin,
    token.createdAt,
    token.expiresAt ?? null,
  ];
}

export class PostgresTokens implements TokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertToken(token: TokenRecord): Promise<void> {
    await query(this.pool, insertTokenSql, tokenValues(token));
  }

  async findToken(id: string): Promise<TokenRecord | undefined> {
    const { rows } = await query<TokenRow>(this.pool, 'SELECT * FROM api_tokens WHERE id = $1', [
      id,
    ]);
    const row = rows[0];
    return (
      row && {
        id: row.id,
        principal: row.principal,
        secretHash: row.secret_hash,
        admin: row.admin,
        createdAt: row.created_at,
        expiresAt: row.expires_at ?? undefined,
      }
    );
  }

  async issuedToken(id: string): Promise<IssuedTokenFacts | undefined> {
    const { rows } = await query<{ principal: string; groups: string }>(
      this.pool,
      issuedTokenSql((index) => `$${index}`),
      [id, id],
    );
    return toIssuedToken(rows[0]);
  }

  async revoke(revocation: RevocationRecord): Promise<boolean> {
    const result = await query(
      this.pool,
      `INSERT INTO revoked_tokens (id, revoked_at, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING`,
      [revocation.id, revocation.revokedAt, revocation.expiresAt ?? null],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async recordIssued(token: IssuedJwtRecord): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO issued_tokens (${issuedTokenColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      issuedTokenValues(token),
    );
  }

  async listTokens(listQuery: TokenListQuery): Promise<TokenListing[]> {
    const { rows } = await query<TokenListRow>(
      this.pool,
      tokenListSql((index) => `$${index}`),
      tokenListValues(listQuery),
    );
    return rows.map(toTokenListing);
  }

  async isRevoked(id: string): Promise<boolean> {
    const { rows } = await query(this.pool, 'SELECT 1 FROM revoked_tokens WHERE id = $1', [id]);
    return rows.length > 0;
  }

  insertBootstrapToken(token: TokenRecord): Promise<boolean> {
    // The marker row decides: of two replicas starting together, one inserts it.
    return transaction(this.pool, async (client) => {
      const marked = await client.query(
        `INSERT INTO meta (key, value) VALUES ('bootstrap_token', $1) ON CONFLICT (key) DO NOTHING`,
        [token.id],
      );
      if ((marked.rowCount ?? 0) === 0) return false;
      await client.query(insertTokenSql, tokenValues(token));
      return true;
    });
  }
}

interface SigningKeyRow {
  kid: string;
  public_key_pem: string;
  private_key_sealed: string | null;
  source: 'generated' | 'imported';
  created_at: number;
  signs_until: number | null;
  verifies_until: number | null;
  retired_at: number | null;
}

const insertKeySql = `INSERT INTO signing_keys (kid, public_key_pem, private_key_sealed, source,
    created_at, signs_until, verifies_until, retired_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

function keyValues(key: SigningKeyRecord): unknown[] {
  return [
    key.kid,
    key.publicKeyPem,
    key.privateKeySealed ?? null,
    key.source,
    key.createdAt,
    key.signsUntil ?? null,
    key.verifiesUntil ?? null,
    key.retiredAt ?? null,
  ];
}

export class PostgresSigningKeys implements SigningKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<SigningKeyRecord[]> {
    const { rows } = await query<SigningKeyRow>(
      this.pool,
      'SELECT * FROM signing_keys ORDER BY created_at, kid',
    );
    return rows.map((row) => ({
      kid: row.kid,
      publicKeyPem: row.public_key_pem,
      privateKeySealed: row.private_key_sealed ?? undefined,
      source: row.source,
      createdAt: row.created_at,
      signsUntil: row.signs_until ?? undefined,
      verifiesUntil: row.verifies_until ?? undefined,
      retiredAt: row.retired_at ?? undefined,
    }));
  }

  async insert(key: SigningKeyRecord): Promise<void> {
    await query(this.pool, insertKeySql, keyValues(key));
  }

  rotate(
    expectedActive: string | undefined,
    next: SigningKeyRecord,
    now: number,
    previousVerifiesUntil: number,
  ): Promise<boolean> {
    // The table lock makes check-and-write one step: of two replicas rotating at once, exactly
    // one succeeds (readers are not blocked).
    return transaction(this.pool, async (client) => {
      await client.query('LOCK TABLE signing_keys IN EXCLUSIVE MODE');
      const { rows } = await client.query<{ kid: string }>(
        `SELECT kid FROM signing_keys WHERE retired_at IS NULL AND private_key_sealed IS NOT NULL
           AND signs_until > $1 ORDER BY created_at DESC, kid DESC`,
        [now],
      );
      if (rows[0]?.kid !== expectedActive) return false;
      await client.query(
        `UPDATE signing_keys SET signs_until = $1,
           verifies_until = GREATEST(COALESCE(verifies_until, 0), $2)
         WHERE kid = ANY($3::text[])`,
        [now, previousVerifiesUntil, rows.map((row) => row.kid)],
      );
      await client.query(insertKeySql, keyValues(next));
      return true;
    });
  }

  async retire(kid: string, at: number): Promise<boolean> {
    const result = await query(
      this.pool,
      'UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL',
      [at, kid],
    );
    return (result.rowCount ?? 0) > 0;
  }
}

interface DataKeyRow {
  id: string;
  master_version: number;
  wrapped: Buffer;
  created_at: number;
}

function toDataKey(row: DataKeyRow): WrappedDataKey {
  return {
    id: row.id,
    masterVersion: row.master_version,
    wrapped: new Uint8Array(row.wrapped),
    createdAt: row.created_at,
  };
}

export class PostgresDataKeys implements DataKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<WrappedDataKey[]> {
    const { rows } = await query<DataKeyRow>(this.pool, 'SELECT * FROM data_keys');
    return rows.map(toDataKey);
  }

  async get(id: string): Promise<WrappedDataKey | undefined> {
    const { rows } = await query<DataKeyRow>(this.pool, 'SELECT * FROM data_keys WHERE id = $1', [
      id,
    ]);
    return rows[0] && toDataKey(rows[0]);
  }

  async insert(key: WrappedDataKey): Promise<void> {
    // Committed (and so durable, with the server's synchronous_commit) before this resolves.
    await query(
      this.pool,
      'INSERT INTO data_keys (id, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4)',
      [key.id, key.masterVersion, Buffer.from(key.wrapped), key.createdAt],
    );
  }

  rewrap(keys: readonly WrappedDataKey[]): Promise<void> {
    return transaction(this.pool, async (client) => {
      for (const key of keys) {
        const result = await client.query(
          'UPDATE data_keys SET master_version = $1, wrapped = $2 WHERE id = $3',
          [key.masterVersion, Buffer.from(key.wrapped), key.id],
        );
        if (result.rowCount !== 1) throw new Error(`data key ${key.id} does not exist`);
      }
    });
  }
}
