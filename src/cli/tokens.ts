import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { ConfigFlags } from '../config/load.js';
import {
  TokenRequestError,
  checkTokenId,
  revocationFacts,
  tokenJson,
} from '../security/token-issuer.js';
import { mintToken } from '../security/tokens.js';
import { revocationRecheckMs } from '../storage/sqlite/revocations.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, formatTable, type CliIo } from './io.js';
import { audited, withOffline, type AuditNote } from './offline.js';

interface IssueFlags extends ConfigFlags {
  principal: string;
  group: string[];
  ttl: string;
  admin?: boolean;
  opaque?: boolean;
}

interface ListFlags extends ConfigFlags {
  all?: boolean;
  limit: string;
  json?: boolean;
}

interface RevokeFlags extends ConfigFlags {
  expires?: string;
}

/** The command-line flag each field of a token request comes from. */
const flagOf = { principal: '--principal', groups: '--group', ttl: '--ttl', id: 'the token id' };

/** Runs `work`, turning a refused token request into a usage error that names the flag. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TokenRequestError) {
      throw new UsageError(`${flagOf[error.param]} ${error.detail}`);
    }
    throw error;
  }
}

/** `assistd tokens …`: manage bearer tokens offline, against the same data dir as the server. */
export function tokensCommand(io: CliIo): Command {
  const tokens = new Command('tokens').description(
    'manage bearer tokens (works while the server runs)',
  );
  addStoreOptions(
    tokens
      .command('issue')
      .description('issue a bearer token (an RS256 JWT) and print it on stdout')
      .requiredOption(
        '--principal <name>',
        'who the token identifies (sub), e.g. alice@example.com',
      )
      .option(
        '--group <name>',
        'a group for policies (group:NAME); repeat for more',
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option('--ttl <duration>', 'lifetime: 90s, 15m, 12h, 30d, 2w', '30d')
      .option('--admin', 'put the token in the "admin" group')
      .option('--opaque', 'issue an opaque asd_… token instead of a JWT (kept for old clients)'),
  ).action(async (flags: IssueFlags) => {
    await withOffline(flags, io, async ({ store, security, audit }) => {
      const request = {
        principal: flags.principal,
        groups: flags.group,
        ttl: flags.ttl,
        admin: flags.admin === true,
      };
      // Refused before anything is written or recorded: a typo is not an administrative act.
      const { groups, ttlMs } = await asUsage(() =>
        Promise.resolve(security.issuer.check(request)),
      );
      if (flags.opaque === true && flags.group.length > 0) {
        throw new UsageError('--group needs a JWT (drop --opaque)');
      }
      // Recorded: the token's id (jti) and principal, never the token itself.
      const note: AuditNote = {
        resource: '/admin/tokens',
        details: {
          type: flags.opaque === true ? 'opaque' : 'jwt',
          subject: flags.principal,
          groups,
          ttl_ms: ttlMs,
          token_id: null,
        },
      };
      const token = await audited(audit, 'create:token', note, async () => {
        if (flags.opaque === true) {
          const now = Date.now();
          const issued = mintToken({
            principal: flags.principal,
            admin: flags.admin === true,
            ttlMs,
            now,
          });
          await store.tokens.insertToken(issued.record);
          note.details.token_id = issued.record.id;
          io.stderr(
            `issued opaque token ${issued.record.id} for "${flags.principal}" ` +
              `(expires ${new Date(now + ttlMs).toISOString()})\n`,
          );
          return issued.token;
        }
        await security.keyring.ensureCurrent();
        const issued = await security.issuer.issue(request);
        note.details.token_id = issued.jti;
        note.details.kid = issued.kid;
        io.stderr(
          `issued token ${issued.jti} for "${flags.principal}"` +
            (groups.length > 0 ? ` in ${groups.map((group) => `group:${group}`).join(', ')}` : '') +
            ` (key ${issued.kid}, expires ${new Date(issued.expiresAt).toISOString()})\n`,
        );
        return issued.token;
      });
      io.stdout(`${token}\n`);
    });
  });

  addStoreOptions(
    tokens
      .command('revoke <id>')
      .description('revoke a token by its jti (JWT) or id (opaque): it fails at once, everywhere')
      .option('--expires <iso-time>', "the token's expiry, after which the record may be pruned"),
  ).action(async (id: string, flags: RevokeFlags) => {
    // Before anything is recorded: the audit record of a pasted token would hold its secret.
    await asUsage(async () => checkTokenId(id));
    const expiresAt = flags.expires === undefined ? undefined : Date.parse(flags.expires);
    if (expiresAt !== undefined && Number.isNaN(expiresAt)) {
      throw new UsageError(`--expires "${flags.expires}" is not an ISO 8601 time`);
    }
    await withOffline(flags, io, async ({ security, audit }) => {
      const note: AuditNote = { resource: `/admin/tokens/${id}`, details: { token_id: id } };
      const { fresh, issued } = await audited(audit, 'delete:token', note, async () => {
        const revoked = await security.issuer.revoke(id, expiresAt);
        Object.assign(note.details, revocationFacts(id, revoked));
        return revoked;
      });
      io.stderr(fresh ? `revoked token ${id}\n` : `token ${id} was already revoked\n`);
      if (issued === undefined) {
        io.stderr(
          `note: no token with id ${id} was issued here (tokens list shows those that were); ` +
            'it is refused anyway, should a JWT from another issuer carry it\n',
        );
      }
    });
    // A running server on this SQLite file rereads revocations at most this long after a commit.
    await sleep(revocationRecheckMs);
  });
  addStoreOptions(
    tokens
      .command('list')
      .description('show tokens issued here (JWTs and opaque tokens), newest first; never a secret')
      .option('--all', 'include expired tokens')
      .option('--limit <n>', 'show at most this many', '100')
      .option('--json', 'print JSON (what GET /admin/tokens returns in data)'),
  ).action(async (flags: ListFlags) => {
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new UsageError('--limit must be a whole number from 1 to 10000');
    }
    await withOffline(flags, io, async ({ store }) => {
      const now = Date.now();
      const listed = await store.tokens.listTokens({
        now,
        includeExpired: flags.all === true,
        limit,
      });
      const rows = listed.map((token) => tokenJson(token, now));
      if (flags.json === true) {
        io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      io.stdout(
        formatTable([
          ['ID', 'TYPE', 'PRINCIPAL', 'GROUPS', 'STATUS', 'CREATED', 'EXPIRES'],
          ...rows.map((token) => [
            token.id,
            token.type,
            token.principal,
            token.groups.join(',') || '-',
            token.status,
            token.created_at,
            token.expires_at ?? 'never',
          ]),
        ]),
      );
    });
  });
  return tokens;
}
