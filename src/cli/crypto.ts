import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { createLogger } from '../logger.js';
import { CryptoError, type EnvelopeCrypto } from '../security/crypto/index.js';
import { openAtRest } from '../security/sealer.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import { addStoreOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
}

/** `assistd crypto …`: the master key of the encryption at rest (works while the server runs). */
export function cryptoCommand(io: CliIo): Command {
  const crypto = new Command('crypto').description(
    'manage the master key that encrypts data at rest (works while the server runs)',
  );
  addStoreOptions(
    crypto
      .command('rotate-master')
      .description(
        'add a new master key version and re-wrap every data key under it (no record is re-encrypted)',
      ),
  ).action(async (flags: ConfigFlags) => {
    await withCrypto(flags, io, async (envelope) => {
      const result = await envelope.rotateMaster();
      io.stderr(
        `master key is now version ${result.version}; re-wrapped ${result.rewrapped} data keys\n` +
          'older versions stay in the key file until "assistd crypto retire-old-masters", ' +
          'after every replica has restarted\n',
      );
    });
  });
  addStoreOptions(
    crypto
      .command('retire-old-masters')
      .description('remove every master key version but the active one from the key file'),
  ).action(async (flags: ConfigFlags) => {
    await withCrypto(flags, io, async (envelope) => {
      const result = await envelope.retireMasterVersions();
      io.stderr(
        `retired master versions ${result.retired.join(', ') || '(none)'}; active ${result.version}\n`,
      );
    });
  });
  addStoreOptions(
    crypto
      .command('status')
      .description('show the master key file, its versions and the data keys')
      .option('--json', 'print JSON'),
  ).action(async (flags: StatusFlags) => {
    await withCrypto(flags, io, (envelope) => {
      const status = envelope.status();
      if (flags.json === true) {
        io.stdout(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        io.stdout(
          [
            `master key file   ${status.masterKeyFile}`,
            `active version    ${status.masterVersion} (file holds ${status.masterVersions.join(', ')})`,
            `data keys         ${status.dataKeys} (${Object.entries(status.dataKeysByMasterVersion)
              .map(([version, count]) => `${count} under v${version}`)
              .join(', ')})`,
            '',
          ].join('\n'),
        );
      }
      return Promise.resolve();
    });
  });
  return crypto;
}

async function withCrypto(
  flags: ConfigFlags,
  io: CliIo,
  work: (envelope: EnvelopeCrypto) => Promise<void>,
): Promise<void> {
  const config = loadConfig({ flags, env: io.env, cwd: io.cwd, readSecrets: false });
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const store = openSqliteStore({ path: join(config.data_dir, 'assistd.db') });
  try {
    const { crypto } = await openAtRest({ config, store, logger: createLogger('warn') });
    try {
      await work(crypto);
    } finally {
      await crypto.close();
    }
  } catch (error) {
    if (error instanceof CryptoError) throw new UsageError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}
