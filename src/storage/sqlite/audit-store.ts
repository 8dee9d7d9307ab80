import type Database from 'better-sqlite3';
import { chainHash, genesisHash } from '../../security/audit/chain.js';
import {
  auditColumns,
  auditFilters,
  auditRowValues,
  toCheckpoint,
  toRecord,
  type AuditFilter,
  type AuditRow,
  type CheckpointRow,
} from '../audit-rows.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditLink,
  AuditQuery,
  AuditRecord,
  AuditStore,
} from '../types.js';
import type { AuditWriter } from './audit-writer.js';
import { settle } from './settle.js';

/**
 * The audit tables of migration 4. Appends take the write lock first (`BEGIN IMMEDIATE`), read
 * the head and chain onto it, so the server and the CLI writing at once still make one chain.
 * With a `writer` (the server), busy periods' batches are appended from a worker thread
 * (audit-writer.ts) by the same transaction on its own connection.
 */
export class SqliteAudit implements AuditStore {
  private readonly statements;
  /** This connection's change count (`total_changes()`), and its value after our last write. */
  private readonly changes: Database.Statement<[], number>;
  private ownChanges = 0;
  private readonly queries = new Map<string, Database.Statement<unknown[], AuditRow>>();
  private readonly appendBatch: Database.Transaction<
    (entries: readonly AuditEntry[], link: AuditLink) => number
  >;
  private readonly insertCheckpointOnce: Database.Transaction<
    (checkpoint: AuditCheckpoint, previousSeq: number | undefined) => boolean
  >;

  constructor(
    private readonly db: Database.Database,
    /** Appends busy periods' batches from a worker thread (the server's store only). */
    readonly writer?: AuditWriter,
  ) {
    this.statements = {
      head: db.prepare<[], { seq: number; hash: Buffer }>(
        'SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1',
      ),
      // Positional parameters: binding 19 named ones cost a fifth of the insert.
      insert: db.prepare(
        `INSERT INTO audit_records (${auditColumns})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      latest: db.prepare<[number], AuditRow>(
        'SELECT * FROM audit_records ORDER BY seq DESC LIMIT ?',
      ),
      checkpoints: db.prepare<[], CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq'),
      lastCheckpoint: db.prepare<[], CheckpointRow>(
        'SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
      ),
      insertCheckpoint: db.prepare(
        `INSERT INTO audit_checkpoints (seq, head_hash, at, prev_signature, kid, signature)
         VALUES (@seq, @headHash, @at, @prevSignature, @kid, @signature)`,
      ),
    };
    this.changes = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.appendBatch = db.transaction((entries: readonly AuditEntry[], link: AuditLink) => {
      const head = this.statements.head.get();
      let seq = head?.seq ?? 0;
      let prevHash = head?.hash ?? genesisHash;
      for (const entry of entries) {
        seq += 1;
        const hash = link(prevHash, seq, entry);
        this.statements.insert.run(...auditRowValues(seq, entry, prevHash, hash));
        prevHash = hash;
      }
      return seq;
    });
    this.insertCheckpointOnce = db.transaction(
      (checkpoint: AuditCheckpoint, previousSeq: number | undefined) => {
        const last = this.statements.lastCheckpoint.get();
        if (last?.seq !== previousSeq || checkpoint.seq <= (last?.seq ?? 0)) return false;
        this.statements.insertCheckpoint.run({
          seq: checkpoint.seq,
          headHash: checkpoint.headHash,
          at: checkpoint.at,
          prevSignature: checkpoint.prevSignature ?? null,
          kid: checkpoint.kid,
          signature: checkpoint.signature,
        });
        return true;
      },
    );
  }

  get threadBatches(): number {
    return this.writer?.batchesWritten ?? 0;
  }

  append(entries: readonly AuditEntry[], link: AuditLink): Promise<number> {
    // The thread links with chainHash; another link (tests) is always applied here.
    if (this.writer && link === chainHash) {
      const changes = this.changes.get()!;
      if (changes !== this.ownChanges) {
        // Another write on this connection: only one while the thread runs can collide with it.
        this.ownChanges = changes;
        if (this.writer.ready) this.writer.standAside();
      }
      if (this.writer.takes(entries.length)) return this.writer.append(entries);
    }
    return settle(() => this.ownWrite(() => this.appendNow(entries, link)));
  }

  /**
   * Runs a write of this class on the event-loop thread's connection, keeping `ownChanges` the
   * connection's change count after it: a count that differs later means something else wrote
   * on this connection (a chat turn, a token), and the writer thread then stands aside.
   */
  private ownWrite<T>(write: () => T): T {
    try {
      return write();
    } finally {
      if (this.writer) this.ownChanges = this.changes.get()!;
    }
  }

  /** `append` in this thread, synchronously (the writer thread runs it too). */
  appendNow(entries: readonly AuditEntry[], link: AuditLink): number {
    return this.appendBatch.immediate(entries, link);
  }

  head(): Promise<{ seq: number; hash: Buffer } | undefined> {
    return settle(() => this.statements.head.get());
  }

  query(query: AuditQuery): Promise<AuditRecord[]> {
    return settle(() => {
      const used = auditFilters.filter((name) => query[name] !== undefined);
      const statement = this.queryStatement(used);
      const values = used.map((name) => query[name]);
      const through = query.through ?? Number.MAX_SAFE_INTEGER;
      return statement.all(query.after, through, ...values, query.limit).map(toRecord);
    });
  }

  /** One prepared statement per combination of filters (at most eight). */
  private queryStatement(used: readonly AuditFilter[]): Database.Statement<unknown[], AuditRow> {
    const key = used.join(',');
    let statement = this.queries.get(key);
    if (!statement) {
      const where = ['seq > ? AND seq <= ?', ...used.map((name) => `${name} = ?`)].join(' AND ');
      statement = this.db.prepare<unknown[], AuditRow>(
        `SELECT * FROM audit_records WHERE ${where} ORDER BY seq LIMIT ?`,
      );
      this.queries.set(key, statement);
    }
    return statement;
  }

  latest(count: number): Promise<AuditRecord[]> {
    return settle(() => this.statements.latest.all(count).map(toRecord).reverse());
  }

  checkpoints(): Promise<AuditCheckpoint[]> {
    return settle(() => this.statements.checkpoints.all().map(toCheckpoint));
  }

  lastCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return settle(() => {
      const row = this.statements.lastCheckpoint.get();
      return row && toCheckpoint(row);
    });
  }

  insertCheckpoint(checkpoint: AuditCheckpoint, previousSeq: number | undefined): Promise<boolean> {
    return settle(() =>
      this.ownWrite(() => this.insertCheckpointOnce.immediate(checkpoint, previousSeq)),
    );
  }
}
