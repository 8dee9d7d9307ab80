import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { ConfigFlags } from '../config/load.js';
import type { KeyView } from '../security/keyring.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, formatTable, type CliIo } from './io.js';
import { announceReload } from '../cache/shared.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { audited, withOffline, type AuditNote } from './offline.js';

interface ListFlags extends ConfigFlags {
  json?: boolean;
}

interface ImportFlags extends ConfigFlags {
  public: string;
  kid?: string;
}

/** `assistd keys …`: the RSA-2048 signing keyring (works while the server runs). */
export function keysCommand(io: CliIo): Command {
  const keys = new Command('keys').description(
    'manage the RSA-2048 keys that sign and verify tokens (works while the server runs)',
  );
  const show = (key: KeyView, verb: string) => {
    io.stderr(`${verb} key ${key.kid} (${key.status}${until(key)})\n`);
  };
  // Running replicas reread the keyring at once when they share Redis (within 30 s otherwise).
  const tellServers = async (config: Readonly<Config>) => {
    try {
      await announceReload(config, createLogger('error', { stderr: true }), 'keys');
    } catch (error) {
      io.stderr(
        `warning: could not tell running servers through Redis (${(error as Error).message}); ` +
          'they reread the keyring within 30 s\n',
      );
    }
  };

  addStoreOptions(
    keys
      .command('generate')
      .description('make the first signing key (the server also makes one on first start)'),
  ).action(async (flags: ConfigFlags) => {
    await withOffline(flags, io, async ({ config, security, audit }) => {
      const note: AuditNote = {
        resource: '/admin/keys',
        details: { operation: 'generate', kid: null },
      };
      await audited(audit, 'create:key', note, async () => {
        const key = await security.keyring.generate();
        note.details.kid = key.kid;
        show(key, 'generated');
      });
      await tellServers(config);
    });
  });

  addStoreOptions(
    keys
      .command('rotate')
      .description(
        'sign with a new key from now on; the previous key verifies until its tokens expire',
      ),
  ).action(async (flags: ConfigFlags) => {
    await withOffline(flags, io, async ({ config, security, audit }) => {
      const note: AuditNote = {
        resource: '/admin/keys',
        details: { operation: 'rotate', kid: null },
      };
      await audited(audit, 'create:key', note, async () => {
        const key = await security.keyring.rotate();
        note.details.kid = key.kid;
        show(key, 'rotated to');
      });
      await tellServers(config);
    });
  });

  addStoreOptions(
    keys
      .command('import')
      .description("trust an external issuer's public key (its tokens then verify)")
      .requiredOption('--public <file>', 'PEM public key (SPKI or PKCS#1), RSA ≥ 2048 bits')
      .option('--kid <kid>', 'the kid its tokens carry (default: the RFC 7638 thumbprint)'),
  ).action(async (flags: ImportFlags) => {
    let pem: string;
    try {
      pem = readFileSync(resolve(io.cwd, flags.public), 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${flags.public}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    await withOffline(flags, io, async ({ config, security, audit }) => {
      const note: AuditNote = {
        resource: '/admin/keys',
        details: { operation: 'import', kid: null },
      };
      const key = await audited(audit, 'create:key', note, async () => {
        const imported = await security.keyring.importPublic(pem, flags.kid);
        note.details.kid = imported.kid;
        return imported;
      });
      show(key, 'imported');
      io.stdout(`${key.kid}\n`);
      await tellServers(config);
    });
  });

  addStoreOptions(
    keys
      .command('retire <kid>')
      .description(
        'stop trusting a key now: its tokens fail at once on servers sharing Redis, within 30 s otherwise',
      ),
  ).action(async (kid: string, flags: ConfigFlags) => {
    await withOffline(flags, io, async ({ config, security, audit }) => {
      const note: AuditNote = { resource: `/admin/keys/${encodeURIComponent(kid)}`, details: {} };
      await audited(audit, 'delete:key', note, () => security.keyring.retire(kid));
      io.stderr(`retired key ${kid}\n`);
      await tellServers(config);
    });
  });

  addStoreOptions(
    keys
      .command('list')
      .description('show every key: kid, source, status, created, expires')
      .option('--json', 'print JSON'),
  ).action(async (flags: ListFlags) => {
    await withOffline(flags, io, async ({ security }) => {
      const list = security.keyring.list();
      if (flags.json === true) {
        io.stdout(`${JSON.stringify(list.map(toJson), null, 2)}\n`);
        return;
      }
      const rows = [
        ['KID', 'SOURCE', 'STATUS', 'CREATED', 'SIGNS UNTIL', 'EXPIRES'],
        ...list.map((key) => [
          key.kid,
          key.source,
          key.status,
          iso(key.createdAt),
          iso(key.signsUntil),
          iso(key.expiresAt),
        ]),
      ];
      io.stdout(formatTable(rows));
    });
  });
  return keys;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

function until(key: KeyView): string {
  if (key.status === 'active') return `, signs until ${iso(key.signsUntil)}`;
  if (key.status === 'verifying-only' && key.expiresAt !== undefined) {
    return `, verifies until ${iso(key.expiresAt)}`;
  }
  return '';
}

function toJson(key: KeyView) {
  return {
    kid: key.kid,
    source: key.source,
    status: key.status,
    created: iso(key.createdAt),
    signs_until: key.signsUntil === undefined ? null : iso(key.signsUntil),
    expires: key.expiresAt === undefined ? null : iso(key.expiresAt),
    retired: key.retiredAt === undefined ? null : iso(key.retiredAt),
  };
}
