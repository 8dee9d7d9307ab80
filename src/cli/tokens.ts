import { Command } from 'commander';
import type { ConfigFlags } from '../config/load.js';
import { issueJwt } from '../security/jwt.js';
import { mintToken } from '../security/tokens.js';
import { parseDuration } from '../util/duration.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';
import { audited, withOffline, type AuditNote } from './offline.js';

interface IssueFlags extends ConfigFlags {
  principal: string;
  group: string[];
  ttl: string;
  admin?: boolean;
  opaque?: boolean;
}

interface RevokeFlags extends ConfigFlags {
  expires?: string;
}

const principalPattern = /^[^\s\p{Cc}][^\p{Cc}]{0,199}$/u;
const groupPattern = /^[A-Za-z0-9._:@-]{1,64}$/;

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
    if (!principalPattern.test(flags.principal)) {
      throw new UsageError(
        '--principal must be 1–200 characters without control characters or a leading space',
      );
    }
    const bad = flags.group.find((group) => !groupPattern.test(group));
    if (bad !== undefined) {
      throw new UsageError(`--group "${bad}" must be 1–64 letters, digits or . _ : @ -`);
    }
    const groups = [...new Set([...(flags.admin === true ? ['admin'] : []), ...flags.group])];
    const ttlMs = parseDuration(flags.ttl);
    if (ttlMs === undefined) {
      throw new UsageError(`--ttl "${flags.ttl}" is not a duration such as 30d, 12h or 15m`);
    }
    await withOffline(flags, io, async ({ store, security, audit }) => {
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
        if (ttlMs > security.maxTokenTtlMs) {
          throw new UsageError(
            `--ttl ${flags.ttl} is longer than security.max_token_ttl_days ` +
              `(${security.maxTokenTtlMs / 86_400_000} days)`,
          );
        }
        const now = Date.now();
        if (flags.opaque === true) {
          if (flags.group.length > 0) throw new UsageError('--group needs a JWT (drop --opaque)');
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
        const issued = await issueJwt(security.keyring, security.jwt, {
          principal: flags.principal,
          groups,
          ttlMs,
          now,
        });
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
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
      throw new UsageError('a token id is 1–128 letters, digits or . _ : -');
    }
    const expiresAt = flags.expires === undefined ? undefined : Date.parse(flags.expires);
    if (expiresAt !== undefined && Number.isNaN(expiresAt)) {
      throw new UsageError(`--expires "${flags.expires}" is not an ISO 8601 time`);
    }
    await withOffline(flags, io, async ({ store, audit }) => {
      const note: AuditNote = { resource: `/admin/tokens/${id}`, details: { token_id: id } };
      const fresh = await audited(audit, 'delete:token', note, async () => {
        const revoked = await store.tokens.revoke({ id, revokedAt: Date.now(), expiresAt });
        note.details.already_revoked = !revoked;
        return revoked;
      });
      io.stderr(fresh ? `revoked token ${id}\n` : `token ${id} was already revoked\n`);
    });
  });
  return tokens;
}
