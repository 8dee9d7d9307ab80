import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { mintToken } from '../security/tokens.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import { parseDuration } from '../util/duration.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';

interface IssueFlags extends ConfigFlags {
  principal: string;
  ttl: string;
  admin?: boolean;
}

const principalPattern = /^[^\s\p{Cc}][^\p{Cc}]{0,199}$/u;

/** `assistd tokens …`: manage bearer tokens offline, against the same data dir as the server. */
export function tokensCommand(io: CliIo): Command {
  const tokens = new Command('tokens').description(
    'manage bearer tokens (works while the server runs)',
  );
  addStoreOptions(
    tokens
      .command('issue')
      .description('issue a bearer token and print it on stdout')
      .requiredOption('--principal <name>', 'who the token identifies, e.g. alice@example.com')
      .option('--ttl <duration>', 'lifetime: 90s, 15m, 12h, 30d, 2w, or "never"', '30d')
      .option('--admin', 'mark the token as an administrator token'),
  ).action(async (flags: IssueFlags) => {
    if (!principalPattern.test(flags.principal)) {
      throw new UsageError(
        '--principal must be 1–200 characters without control characters or a leading space',
      );
    }
    const ttlMs = flags.ttl === 'never' ? undefined : parseDuration(flags.ttl);
    if (flags.ttl !== 'never' && ttlMs === undefined) {
      throw new UsageError(`--ttl "${flags.ttl}" is not a duration such as 30d, 12h or 15m`);
    }
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
    const store = openSqliteStore({ path: join(config.data_dir, 'assistd.db') });
    try {
      const issued = mintToken({
        principal: flags.principal,
        admin: flags.admin === true,
        ttlMs,
        now: Date.now(),
      });
      await store.tokens.insertToken(issued.record);
      const expires =
        issued.record.expiresAt === undefined
          ? 'never'
          : new Date(issued.record.expiresAt).toISOString();
      io.stderr(`issued token ${issued.record.id} for "${flags.principal}" (expires ${expires})\n`);
      io.stdout(`${issued.token}\n`);
    } finally {
      await store.close();
    }
  });
  return tokens;
}
