import { Command } from 'commander';
import type { ConfigFlags } from '../config/load.js';
import { addStoreOptions } from './config-options.js';
import type { CliIo } from './io.js';
import { audited, withOffline, type AuditNote } from './offline.js';

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
    await withOffline(flags, io, async ({ crypto: envelope, audit }) => {
      const note: AuditNote = { resource: '/admin/crypto/master-key', details: {} };
      const result = await audited(audit, 'create:master-key', note, async () => {
        const rotated = await envelope.rotateMaster();
        note.details = { version: rotated.version, rewrapped: rotated.rewrapped };
        return rotated;
      });
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
    await withOffline(flags, io, async ({ crypto: envelope, audit }) => {
      const note: AuditNote = { resource: '/admin/crypto/master-key', details: {} };
      const result = await audited(audit, 'delete:master-key', note, async () => {
        const retired = await envelope.retireMasterVersions();
        note.details = { version: retired.version, retired: retired.retired.map(String) };
        return retired;
      });
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
    await withOffline(flags, io, ({ crypto: envelope }) => {
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
