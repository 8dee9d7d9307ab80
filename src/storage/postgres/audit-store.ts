import type pg from 'pg';
import { genesisHash } from '../../security/audit/chain.js';
import {
  auditColumns,
  auditFilters,
  auditRowValues,
  toCheckpoint,
  toRecord,
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
import { query, transaction } from './pool.js';

/** Columns per audit record; PostgreSQL takes at most 65,535 parameters per statement. */
const columnCount = 19;
const rowsPerInsert = Math.floor(65_535 / columnCount);

/**
 * The audit tables of migration 4 on PostgreSQL. An append locks `audit_records` (EXCLUSIVE:
 * writers wait, readers do not) before it reads the head, so any number of replicas and CLI runs
 * appending at once still make one chain with no gap and no fork.
 */
export class PostgresAudit implements AuditStore {
  constructor(private readonly pool: pg.Pool) {}

  append(entries: readonly AuditEntry[], link: AuditLink): Promise<number> {
    return transaction(this.pool, async (client) => {
      await client.query('LOCK TABLE audit_records IN EXCLUSIVE MODE');
      const { rows } = await client.query<{ seq: number; hash: Buffer }>(
        'SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1',
      );
      let seq = rows[0]?.seq ?? 0;
      let prevHash = rows[0]?.hash ?? genesisHash;
      for (let start = 0; start < entries.length; start += rowsPerInsert) {
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const entry of entries.slice(start, start + rowsPerInsert)) {
          seq += 1;
          const hash = link(prevHash, seq, entry);
          const first = values.length;
          values.push(...auditRowValues(seq, entry, prevHash, hash));
          tuples.push(
            `(${Array.from({ length: columnCount }, (_, index) => `$${first + index + 1}`).join(', ')})`,
          );
          prevHash = hash;
        }
        await client.query(
          `INSERT INTO audit_records (${auditColumns}) VALUES ${tuples.join(', ')}`,
          values,
        );
      }
      return seq;
    });
  }

  async head(): Promise<{ seq: number; hash: Buffer } | undefined> {
    const { rows } = await query<{ seq: number; hash: Buffer }>(
      this.pool,
      'SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1',
    );
    return rows[0];
  }

  async query(filter: AuditQuery): Promise<AuditRecord[]> {
    const used = auditFilters.filter((name) => filter[name] !== undefined);
    const values: unknown[] = [filter.after, filter.through ?? Number.MAX_SAFE_INTEGER];
    const where = ['seq > $1 AND seq <= $2'];
    for (const name of used) {
      values.push(filter[name]);
      where.push(`${name} = $${values.length}`);
    }
    values.push(filter.limit);
    const { rows } = await query<AuditRow>(
      this.pool,
      `SELECT * FROM audit_records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${values.length}`,
      values,
    );
    return rows.map(toRecord);
  }

  async latest(count: number): Promise<AuditRecord[]> {
    const { rows } = await query<AuditRow>(
      this.pool,
      'SELECT * FROM audit_records ORDER BY seq DESC LIMIT $1',
      [count],
    );
    return rows.map(toRecord).reverse();
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    const { rows } = await query<CheckpointRow>(
      this.pool,
      'SELECT * FROM audit_checkpoints ORDER BY seq',
    );
    return rows.map(toCheckpoint);
  }

  async lastCheckpoint(): Promise<AuditCheckpoint | undefined> {
    const { rows } = await query<CheckpointRow>(
      this.pool,
      'SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
    );
    return rows[0] && toCheckpoint(rows[0]);
  }

  insertCheckpoint(checkpoint: AuditCheckpoint, previousSeq: number | undefined): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      await client.query('LOCK TABLE audit_checkpoints IN EXCLUSIVE MODE');
      const { rows } = await client.query<{ seq: number }>(
        'SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
      );
      const last = rows[0]?.seq;
      if (last !== previousSeq || checkpoint.seq <= (last ?? 0)) return false;
      await client.query(
        `INSERT INTO audit_checkpoints (seq, head_hash, at, prev_signature, kid, signature)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          checkpoint.seq,
          checkpoint.headHash,
          checkpoint.at,
          checkpoint.prevSignature ?? null,
          checkpoint.kid,
          checkpoint.signature,
        ],
      );
      return true;
    });
  }
}
