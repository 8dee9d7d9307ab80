import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import type { AuditEntry, Store } from '../../src/storage/types.js';
import { AuditLog, type AuditLogOptions } from '../../src/security/audit/audit-log.js';
import type { CheckpointSigner } from '../../src/security/audit/checkpoint.js';

/** Helpers for the audit log tests. */

export const silentLogger = pino({ level: 'silent' });

/** An RSA signer with a fixed kid, and the key map verification needs. */
export function testSigner(kid = 'test-key'): {
  signer: CheckpointSigner;
  keys: Map<string, KeyObject>;
} {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    signer: {
      sign: (data) => Promise.resolve({ kid, signature: sign('sha256', data, privateKey) }),
      currentKid: () => kid,
    },
    keys: new Map([[kid, publicKey]]),
  };
}

/** A store in a temp dir, a raw connection for tampering, and the checkpoint file's path. */
export function tempAuditStore(): {
  dir: string;
  store: Store;
  raw: Database.Database;
  checkpointFile: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'assistd-audit-'));
  const path = join(dir, 'assistd.db');
  const store = openSqliteStore({ path });
  const raw = new Database(path);
  return { dir, store, raw, checkpointFile: join(dir, 'audit', 'checkpoints.jsonl') };
}

/** Runs `sql` as someone with write access to the file would: append-only triggers dropped. */
export function tamper(raw: Database.Database, sql: string): void {
  raw.exec(`
    DROP TRIGGER IF EXISTS audit_records_no_update;
    DROP TRIGGER IF EXISTS audit_records_no_delete;
    DROP TRIGGER IF EXISTS audit_checkpoints_no_update;
    DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;
    ${sql}
  `);
}

/** A plausible HTTP record. */
export function sampleEntry(index: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: 1_700_000_000_000 + index,
    source: 'http',
    requestId: `req-${index}`,
    principal: index % 2 === 0 ? 'alice@example.com' : 'bob@example.com',
    auth: 'jwt',
    ip: '127.0.0.1',
    userAgent: 'test',
    method: 'GET',
    action: 'list:model',
    resource: '/v1/models',
    decision: 'allow',
    statement: 'default-models (built-in default:10)',
    status: 200,
    error: null,
    latencyMs: 1.25,
    details: null,
    ...overrides,
  };
}

/** The real writer for tests: silent, and no checkpoint timer (checkpoints when asked or due). */
export function testAuditLog(
  options: Pick<AuditLogOptions, 'store' | 'signer' | 'checkpointFile'> & Partial<AuditLogOptions>,
): AuditLog {
  return new AuditLog({ logger: silentLogger, checkpointEveryMs: 0, ...options });
}

/** Appends `sampleEntry(1…count)` one at a time, signing a checkpoint after every `every`. */
export async function writeSampleLog(log: AuditLog, count: number, every: number): Promise<void> {
  for (let index = 1; index <= count; index++) {
    await log.append(sampleEntry(index));
    if (index % every === 0) await log.checkpoint();
  }
  await log.close();
}
