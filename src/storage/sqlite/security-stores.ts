import type Database from 'better-sqlite3';
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
import { RevocationList } from './revocations.js';
import { settle } from './settle.js';

interface TokenRow {
  id: string;
  principal: string;
  secret_hash: Buffer;
  admin: number;
  created_at: number;
  expires_at: number | null;
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

export class SqliteTokens implements TokenStore {
  private readonly statements;
  private readonly revocations: RevocationList;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO api_tokens (id, principal, secret_hash, admin, created_at, expires_at)
         VALUES (@id, @principal, @secretHash, @admin, @createdAt, @expiresAt)`,
      ),
      find: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE id = ?'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)'),
      revoke: db.prepare(
        `INSERT INTO revoked_tokens (id, revoked_at, expires_at) VALUES (@id, @revokedAt, @expiresAt)
         ON CONFLICT (id) DO NOTHING`,
      ),
      recordIssued: db.prepare(
        `INSERT INTO issued_tokens (${issuedTokenColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      list: db.prepare<unknown[], TokenListRow>(tokenListSql(() => '?')),
      issuedToken: db.prepare<[string, string], { principal: string; groups: string }>(
        issuedTokenSql(() => '?'),
      ),
    };
    this.revocations = new RevocationList(db);
  }

  recordIssued(token: IssuedJwtRecord): Promise<void> {
    return settle(() => {
      this.statements.recordIssued.run(...issuedTokenValues(token));
    });
  }

  listTokens(query: TokenListQuery): Promise<TokenListing[]> {
    return settle(() => this.statements.list.all(...tokenListValues(query)).map(toTokenListing));
  }

  insertToken(token: TokenRecord): Promise<void> {
    return settle(() => {
      this.statements.insert.run(tokenParams(token));
    });
  }

  issuedToken(id: string): Promise<IssuedTokenFacts | undefined> {
    return settle(() => toIssuedToken(this.statements.issuedToken.get(id, id)));
  }

  findToken(id: string): Promise<TokenRecord | undefined> {
    return settle(() => {
      const row = this.statements.find.get(id);
      return (
        row && {
          id: row.id,
          principal: row.principal,
          secretHash: row.secret_hash,
          admin: row.admin === 1,
          createdAt: row.created_at,
          expiresAt: row.expires_at ?? undefined,
        }
      );
    });
  }

  insertBootstrapToken(token: TokenRecord): Promise<boolean> {
    const insert = this.db.transaction((): boolean => {
      if (this.statements.getMeta.get('bootstrap_token')) return false;
      this.statements.insert.run(tokenParams(token));
      this.statements.setMeta.run('bootstrap_token', token.id);
      return true;
    });
    return settle(() => insert.immediate());
  }

  revoke(revocation: RevocationRecord): Promise<boolean> {
    return settle(() => {
      const changed = this.statements.revoke.run({
        id: revocation.id,
        revokedAt: revocation.revokedAt,
        expiresAt: revocation.expiresAt ?? null,
      }).changes;
      this.revocations.revoked(revocation.id);
      return changed > 0;
    });
  }

  isRevoked(id: string): Promise<boolean> {
    return settle(() => this.revocations.isRevoked(id));
  }

  /** The same answer as `isRevoked`, synchronously; undefined when the lookup fails. */
  isRevokedNow(id: string): boolean | undefined {
    try {
      return this.revocations.isRevoked(id);
    } catch {
      return undefined;
    }
  }
}

function tokenParams(token: TokenRecord) {
  return {
    id: token.id,
    principal: token.principal,
    secretHash: token.secretHash,
    admin: token.admin ? 1 : 0,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt ?? null,
  };
}

export class SqliteSigningKeys implements SigningKeyStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      list: db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
      insert: db.prepare(
        `INSERT INTO signing_keys (kid, public_key_pem, private_key_sealed, source, created_at,
           signs_until, verifies_until, retired_at)
         VALUES (@kid, @publicKeyPem, @privateKeySealed, @source, @createdAt, @signsUntil,
           @verifiesUntil, @retiredAt)`,
      ),
      signing: db.prepare<[number], { kid: string }>(
        `SELECT kid FROM signing_keys WHERE retired_at IS NULL AND private_key_sealed IS NOT NULL
           AND signs_until > ? ORDER BY created_at DESC, kid DESC`,
      ),
      endSigning: db.prepare(
        `UPDATE signing_keys SET signs_until = @now,
           verifies_until = MAX(COALESCE(verifies_until, 0), @verifiesUntil)
         WHERE kid = @kid`,
      ),
      retire: db.prepare(
        'UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL',
      ),
    };
  }

  list(): Promise<SigningKeyRecord[]> {
    return settle(() =>
      this.statements.list.all().map((row) => ({
        kid: row.kid,
        publicKeyPem: row.public_key_pem,
        privateKeySealed: row.private_key_sealed ?? undefined,
        source: row.source,
        createdAt: row.created_at,
        signsUntil: row.signs_until ?? undefined,
        verifiesUntil: row.verifies_until ?? undefined,
        retiredAt: row.retired_at ?? undefined,
      })),
    );
  }

  insert(key: SigningKeyRecord): Promise<void> {
    return settle(() => {
      this.statements.insert.run(keyParams(key));
    });
  }

  rotate(
    expectedActive: string | undefined,
    next: SigningKeyRecord,
    now: number,
    previousVerifiesUntil: number,
  ): Promise<boolean> {
    // IMMEDIATE: the check and the writes happen under the write lock, so of two processes
    // rotating at once exactly one succeeds.
    const rotate = this.db.transaction((): boolean => {
      const signing = this.statements.signing.all(now).map((row) => row.kid);
      if (signing[0] !== expectedActive) return false;
      for (const kid of signing) {
        this.statements.endSigning.run({ kid, now, verifiesUntil: previousVerifiesUntil });
      }
      this.statements.insert.run(keyParams(next));
      return true;
    });
    return settle(() => rotate.immediate());
  }

  retire(kid: string, at: number): Promise<boolean> {
    return settle(() => this.statements.retire.run(at, kid).changes > 0);
  }
}

function keyParams(key: SigningKeyRecord) {
  return {
    kid: key.kid,
    publicKeyPem: key.publicKeyPem,
    privateKeySealed: key.privateKeySealed ?? null,
    source: key.source,
    createdAt: key.createdAt,
    signsUntil: key.signsUntil ?? null,
    verifiesUntil: key.verifiesUntil ?? null,
    retiredAt: key.retiredAt ?? null,
  };
}

interface DataKeyRow {
  id: string;
  master_version: number;
  wrapped: Buffer;
  created_at: number;
}

export class SqliteDataKeys implements DataKeyStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      list: db.prepare<[], DataKeyRow>('SELECT * FROM data_keys'),
      get: db.prepare<[string], DataKeyRow>('SELECT * FROM data_keys WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO data_keys (id, master_version, wrapped, created_at)
         VALUES (@id, @masterVersion, @wrapped, @createdAt)`,
      ),
      rewrap: db.prepare(
        'UPDATE data_keys SET master_version = @masterVersion, wrapped = @wrapped WHERE id = @id',
      ),
    };
  }

  list(): Promise<WrappedDataKey[]> {
    return settle(() => this.statements.list.all().map(toDataKey));
  }

  get(id: string): Promise<WrappedDataKey | undefined> {
    return settle(() => {
      const row = this.statements.get.get(id);
      return row && toDataKey(row);
    });
  }

  insert(key: WrappedDataKey): Promise<void> {
    return settle(() => {
      this.statements.insert.run(dataKeyParams(key));
    });
  }

  rewrap(keys: readonly WrappedDataKey[]): Promise<void> {
    const rewrap = this.db.transaction(() => {
      for (const key of keys) {
        if (this.statements.rewrap.run(dataKeyParams(key)).changes !== 1) {
          throw new Error(`data key ${key.id} does not exist`);
        }
      }
    });
    return settle(() => rewrap.immediate());
  }
}

function toDataKey(row: DataKeyRow): WrappedDataKey {
  return {
    id: row.id,
    masterVersion: row.master_version,
    wrapped: new Uint8Array(row.wrapped),
    createdAt: row.created_at,
  };
}

function dataKeyParams(key: WrappedDataKey) {
  return {
    id: key.id,
    masterVersion: key.masterVersion,
    wrapped: Buffer.from(key.wrapped),
    createdAt: key.createdAt,
  };
}
