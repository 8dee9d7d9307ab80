import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openEncryptedStore } from '../../../test/support/encrypted-store.js';
import { runDataKeyStoreContract } from '../../security/crypto/data-key-store.contract.js';
import { plaintextFields } from '../../security/field-cipher.js';
import { runContract } from '../contract.js';
import { migrations } from './migrations.js';
import { RevocationList } from './revocations.js';
import { openSqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'assistd-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
runContract('sqlite', async () => {
  const store = openSqliteStore({ path: join(dir, `contract-${++files}.db`) });
  await store.useEncryption(plaintextFields);
  return store;
});

// The same contract with conversation text encrypted, as the server runs it.
runContract('sqlite, encrypted', async () => {
  const dataDir = join(dir, `encrypted-${++files}`);
  mkdirSync(dataDir, { mode: 0o700 });
  return (await openEncryptedStore(dataDir)).store;
});

runDataKeyStoreContract('sqlite', () =>
  Promise.resolve(openSqliteStore({ path: join(dir, `data-keys-${++files}.db`) }).dataKeys),
);

describe('sqlite migrations', () => {
  it('records each migration once and survives reopening', async () => {
    const path = join(dir, 'reopen.db');
    await openSqliteStore({ path }).close();
    await openSqliteStore({ path }).close();
    const db = new Database(path);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(versions).toEqual(migrations.map((m) => ({ version: m.version })));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('sets the configured durability', () => {
    const full = openSqliteStore({ path: join(dir, 'full.db'), synchronous: 'full' });
    const normal = openSqliteStore({ path: join(dir, 'normal.db') });
    // PRAGMA synchronous: 1 = NORMAL, 2 = FULL.
    const level = (store: unknown) =>
      (store as { db: Database.Database }).db.pragma('synchronous', { simple: true });
    expect([level(full), level(normal)]).toEqual([2, 1]);
    void full.close();
    void normal.close();
  });

  it('refuses a database written by a newer version', async () => {
    const path = join(dir, 'newer.db');
    await openSqliteStore({ path }).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run(
      'future',
    );
    db.close();
    expect(() => openSqliteStore({ path })).toThrow(/schema is version 999/);
  });

  it('keeps a committed turn when another process opened the same file', async () => {
    const path = join(dir, 'shared.db');
    const first = openSqliteStore({ path });
    const second = openSqliteStore({ path });
    await first.useEncryption(plaintextFields);
    await second.useEncryption(plaintextFields);
    await first.conversations.appendTurn({
      conversationId: 'conv_x',
      principal: 'p',
      create: { title: 't' },
      model: 'm',
      messages: [{ id: 'msg_1', role: 'user', content: 'hi', tokens: 1, incomplete: false }],
      at: 1,
    });
    expect((await second.conversations.getConversation('p', 'conv_x'))?.messageCount).toBe(1);
    await first.close();
    await second.close();
  });
});

describe('sqlite revocations', () => {
  /** Past the 10 ms for which data_version is not read again. */
  const recheckPassed = async () => {
    const until = performance.now() + 11;
    while (performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  const revocation = (id: string) => ({ id, revokedAt: 1, expiresAt: undefined });

  it('sees a revocation committed by another connection 10 ms later', async () => {
    const path = join(dir, 'revocations.db');
    const server = openSqliteStore({ path });
    const cli = openSqliteStore({ path });
    // Remembered as not revoked, then revoked elsewhere.
    expect(await server.tokens.isRevoked('jti-a')).toBe(false);
    expect(await cli.tokens.revoke(revocation('jti-a'))).toBe(true);
    await recheckPassed();
    expect(await server.tokens.isRevoked('jti-a')).toBe(true);
    expect(await server.tokens.isRevoked('jti-b')).toBe(false);
    // Its own revocations count at once.
    expect(await server.tokens.revoke(revocation('jti-b'))).toBe(true);
    expect(await server.tokens.isRevoked('jti-b')).toBe(true);
    expect(await server.tokens.revoke(revocation('jti-b'))).toBe(false);
    await recheckPassed();
    expect(await cli.tokens.isRevoked('jti-b')).toBe(true);
    await server.close();
    await cli.close();
  });

  it('remembers a bounded number of answers', async () => {
    const path = join(dir, 'revocations-bounded.db');
    const db = new Database(path);
    db.exec('CREATE TABLE revoked_tokens (id TEXT PRIMARY KEY) STRICT');
    db.prepare('INSERT INTO revoked_tokens (id) VALUES (?)').run('jti-0');
    const list = new RevocationList(db, 3);
    for (let i = 0; i < 10; i++) list.isRevoked(`jti-${i}`);
    expect(list.size).toBe(3);
    // The oldest answer was forgotten and is read again, still right.
    expect(list.isRevoked('jti-0')).toBe(true);
    db.close();
  });
});
