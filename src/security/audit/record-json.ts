import type { AuditRecord } from '../../storage/types.js';
import { hashedForm } from './chain.js';

/** A record as the admin API and `assistd audit tail --json` show it (snake_case, hex hashes). */
export function recordJson(record: AuditRecord) {
  return {
    ...(hashedForm(record.seq, record) as Record<string, unknown>),
    time: new Date(record.at).toISOString(),
    prev_hash: record.prevHash.toString('hex'),
    hash: record.hash.toString('hex'),
  };
}
