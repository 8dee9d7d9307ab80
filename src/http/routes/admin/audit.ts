import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import * as z from '../../../util/zod.js';
import {
  verifyOptionsFor,
  recordJson,
  verifyAuditLog,
  VerifyRangeError,
  type AuditVerification,
} from '../../../security/audit/index.js';
import { AppError } from '../../../errors.js';
import type { AppDeps } from '../../app.js';
import { parseValue } from '../../validate.js';

/** Records a filtered query looks through at most, so one request cannot scan the whole log. */
const scanWindow = 100_000;

const listQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  principal: z.string().min(1).max(256).optional(),
  action: z.string().min(1).max(128).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
});

const verifyQuerySchema = z.strictObject({
  from_checkpoint: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * `GET /admin/audit`: records in sequence order after `after`, filtered by principal, action and
 * status; `next_after` continues the listing (`has_more` says whether there is more to look at) and
 * `head_seq` is the newest record's seq, so a viewer can page backwards from it. `GET /admin/audit/verify`: the verification `assistd audit verify` prints, run in
 * this process a page at a time (it yields to other requests between pages); concurrent callers
 * of the same check share one run. `?from_checkpoint=SEQ` checks the records from that
 * checkpoint on (an incremental check; see `VerifyOptions.fromCheckpoint`).
 */
export function auditRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/admin/audit', async (request) => {
    const query = parseValue(listQuerySchema, request.query);
    const filtered =
      query.principal !== undefined || query.action !== undefined || query.status !== undefined;
    // The head first: the page then covers exactly (after, through], so `next_after` never
    // skips a record written meanwhile. A filtered query scans at most `scanWindow` records
    // (there is no index to jump with); the caller pages on from `next_after`, which may be past
    // the last record returned.
    const headSeq = (await deps.store.audit.head())?.seq ?? 0;
    const through = filtered ? Math.min(query.after + scanWindow, headSeq) : headSeq;
    const records = await deps.store.audit.query({
      after: query.after,
      through,
      limit: query.limit + 1,
      principal: query.principal,
      // Actions are stored lower case (route-actions.ts) and compared case-insensitively.
      action: query.action?.toLowerCase(),
      status: query.status,
    });
    const page = records.slice(0, query.limit);
    const full = records.length > query.limit;
    const nextAfter = full ? page.at(-1)!.seq : Math.max(query.after, through);
    return {
      object: 'list',
      data: page.map(recordJson),
      has_more: full || nextAfter < headSeq,
      next_after: nextAfter,
      // The newest record's seq when the page was read: where a newest-first view starts.
      head_seq: headSeq,
    };
  });

  /** Runs in progress, by the record they start from. */
  const running = new Map<number, Promise<AuditVerification>>();
  app.get('/admin/audit/verify', async (request) => {
    const { from_checkpoint: fromCheckpoint } = parseValue(verifyQuerySchema, request.query);
    const key = fromCheckpoint ?? 1;
    let run = running.get(key);
    if (!run) {
      run = (async () =>
        verifyAuditLog({
          ...verifyOptionsFor(deps.config, deps.store),
          ...(await deps.keyring.provenKeys()),
          pause: () => yieldToLoop(),
          fromCheckpoint,
        }))().finally(() => running.delete(key));
      running.set(key, run);
    }
    return run.catch((error: unknown) => {
      if (error instanceof VerifyRangeError) {
        throw new AppError('invalid_request', `from_checkpoint: ${error.message}.`, {
          param: 'from_checkpoint',
        });
      }
      throw error;
    });
  });
}
