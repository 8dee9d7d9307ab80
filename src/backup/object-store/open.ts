import { join, resolve } from 'node:path';
import { readSecretFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { LocalObjectStore } from './local.js';
import type { ObjectStore } from './types.js';

/** The object store `object_store` names: S3 when `s3.bucket` is set, a local folder otherwise. */
export async function openObjectStore(
  config: Readonly<Config>,
): Promise<ObjectStore & { close?(): void }> {
  const s3 = config.object_store.s3;
  if (s3 === undefined) {
    return new LocalObjectStore(config.object_store.folder ?? join(config.data_dir, 'objects'));
  }
  const credentials =
    s3.access_key_id !== undefined && s3.secret_access_key_file !== undefined
      ? {
          accessKeyId: s3.access_key_id,
          secretAccessKey: readSecretFile(
            s3.secret_access_key_file,
            'object_store.s3.secret_access_key_file',
          ),
        }
      : undefined;
  // Loaded only when configured: the AWS SDK takes tens of MB (idle memory).
  const { S3ObjectStore } = await import('./s3.js');
  return new S3ObjectStore({
    bucket: s3.bucket,
    prefix: s3.prefix,
    endpoint: s3.endpoint,
    region: s3.region,
    credentials,
  });
}

/**
 * Where `object_store` puts backups, for the admin API: `folder /abs/path`, or
 * `s3://bucket/prefix/` with the endpoint's origin for S3-compatible servers. Read from the
 * config alone (no connection), and never a credential: an endpoint's user and password, path
 * and query are left out.
 */
export function objectStoreLocation(config: Readonly<Config>): string {
  const s3 = config.object_store.s3;
  if (s3 === undefined) {
    return `folder ${resolve(config.object_store.folder ?? join(config.data_dir, 'objects'))}`;
  }
  const prefix = s3.prefix === '' || s3.prefix.endsWith('/') ? s3.prefix : `${s3.prefix}/`;
  const endpoint = s3.endpoint === undefined ? '' : ` at ${new URL(s3.endpoint).origin}`;
  return `s3://${s3.bucket}/${prefix}${endpoint}`;
}
