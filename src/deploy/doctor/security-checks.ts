import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { readMasterKeys } from '../../security/crypto/master-key-file.js';
import { generatedKeyFileName } from '../../security/crypto/master-key-source.js';
import { fail, messageOf, pass, skip, warn, type Check } from './check.js';

/**
 * The master key file of the encryption at rest: readable, owner-only (the server refuses a file
 * others may read), well-formed. Without `security.master_key_file`, the generated one in the
 * data dir, if it exists (the server writes it on first start; the doctor never does).
 */
export function masterKeyCheck(config: Readonly<Config>): Check {
  return {
    id: 'master-key',
    title: 'Master key file',
    run: async () => {
      const configured = config.security.master_key_file;
      const path = configured ?? join(config.data_dir, generatedKeyFileName);
      if (configured === undefined) {
        const exists = await stat(path).then(
          () => true,
          () => false,
        );
        if (!exists) {
          return skip(
            'no security.master_key_file configured; the server generates one in the data dir on first start',
          );
        }
      }
      let keys;
      try {
        keys = await readMasterKeys(path);
      } catch (error) {
        return fail(messageOf(error));
      }
      const info = await stat(path);
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      const detail = `${path}: ${keys.keys.size} key version${keys.keys.size === 1 ? '' : 's'}, active v${keys.active}, mode ${mode}`;
      return configured === undefined
        ? warn(
            `${detail}; it sits beside the data it protects: move it to a secret store (security.master_key_file)`,
          )
        : pass(detail);
    },
  };
}
