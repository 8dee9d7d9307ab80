import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { openCrypto, type CryptoLogger, type EnvelopeCrypto } from '../security/crypto/index.js';
import type { Logger } from 'pino';
import { LogShipper } from './log-shipper.js';
import { ObjectDataKeys } from './object-data-keys.js';
import { openObjectStore } from './object-store/open.js';
import type { ObjectStore } from './object-store/types.js';
import { BackupRepository } from './repository.js';

export interface OpenedRepository {
  repository: BackupRepository;
  crypto: EnvelopeCrypto;
  close(): Promise<void>;
}

/**
 * The backup repository in the configured object store, its data keys unwrapped with the
 * server's master key (`security.master_key_file`, or `<data_dir>/master.key`). Only the object
 * store and that key file are needed: a restore works on a machine that lost everything else.
 * `readOnly` (listing, verifying, restoring) stores no data key, so readers leave the repository
 * as they found it and work with read-only credentials; a writer stores one for its run.
 */
export async function openRepository(
  config: Readonly<Config>,
  logger: CryptoLogger,
  options: { readOnly?: boolean } = {},
): Promise<OpenedRepository> {
  const { objects, crypto } = await openRepositoryCrypto(config, logger, options);
  return {
    repository: new BackupRepository(objects, crypto),
    crypto,
    async close() {
      await crypto.close();
      objects.close?.();
    },
  };
}

/** The object store and the envelope crypto over the data keys kept in it. */
export async function openRepositoryCrypto(
  config: Readonly<Config>,
  logger: CryptoLogger,
  options: { readOnly?: boolean } = {},
): Promise<{ objects: ObjectStore & { close?(): void }; crypto: EnvelopeCrypto }> {
  const objects = await openObjectStore(config);
  const crypto = await openCrypto({
    masterKeyFile: config.security.master_key_file,
    dataDir: config.data_dir,
    store: new ObjectDataKeys(objects),
    logger,
    readOnly: options.readOnly ?? false,
  });
  return { objects, crypto };
}

/** The folder `backup models` takes: `backup.models_folder`, the model file's folder, or data. */
export function modelsFolder(config: Readonly<Config>): string {
  if (config.backup.models_folder !== undefined) return config.backup.models_folder;
  if (config.model_path !== undefined) {
    return config.model_path.endsWith('.gguf') ? dirname(config.model_path) : config.model_path;
  }
  return join(config.data_dir, 'models');
}

/**
 * The log shipper of `log_shipping`, sealing records with the repository's keys (so a restore
 * needs only the bucket and the master key file).
 */
export async function openLogShipping(
  config: Readonly<Config>,
  logger: Logger,
): Promise<{ shipper: LogShipper; close(): Promise<void> }> {
  const { objects, crypto } = await openRepositoryCrypto(config, logger);
  const shipper = await LogShipper.open({
    folder: join(config.data_dir, 'conversation-log'),
    objects,
    crypto,
    logger,
    maxDelayMs: config.log_shipping.max_delay_seconds * 1000,
  });
  logger.info(
    {
      to: objects.location,
      replica: shipper.replicaId,
      max_delay_seconds: config.log_shipping.max_delay_seconds,
    },
    'conversation log shipping on',
  );
  return {
    shipper,
    async close() {
      await shipper.close();
      await crypto.close();
      objects.close?.();
    },
  };
}
