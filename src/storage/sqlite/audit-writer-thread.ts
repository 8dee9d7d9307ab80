// The audit writer thread (audit-writer.ts starts it): its own connection to the database file,
// appending the batches the event-loop thread sends, one transaction each, exactly as
// SqliteAudit.append does in-thread (BEGIN IMMEDIATE, read the head, chain onto it).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { chainHash } from '../../security/audit/chain.js';
import { SqliteAudit } from './audit-store.js';
import type { WriterRequest, WriterResponse } from './audit-writer.js';
import { configureConnection } from './connection.js';

const { path, synchronous, busyTimeoutMs } = workerData as {
  path: string;
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
};
const port = parentPort!;
const db = new Database(path, { fileMustExist: true });
configureConnection(db, synchronous, busyTimeoutMs);
const audit = new SqliteAudit(db);

port.on('message', ({ id, entries }: WriterRequest) => {
  let response: WriterResponse;
  try {
    response = { id, seq: audit.appendNow(entries, chainHash) };
  } catch (error) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    response = {
      id,
      error: {
        message: typeof message === 'string' ? message : String(error),
        ...(typeof code === 'string' ? { code } : {}),
      },
    };
  }
  port.postMessage(response);
});
port.postMessage('ready');
