import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { objectStoreLocation } from './open.js';

describe('objectStoreLocation', () => {
  it('names the local folder, absolute', () => {
    expect(objectStoreLocation(configSchema.parse({ data_dir: '/srv/assistd' }))).toBe(
      `folder ${join('/srv/assistd', 'objects')}`,
    );
    expect(
      objectStoreLocation(
        configSchema.parse({ data_dir: '/srv/assistd', object_store: { folder: '/backup/x' } }),
      ),
    ).toBe('folder /backup/x');
  });

  it('names the bucket, prefix and endpoint origin, never a credential', () => {
    const config = configSchema.parse({
      object_store: {
        s3: {
          bucket: 'models-backup',
          prefix: 'prod',
          endpoint: 'https://backup:hunter2@minio.internal:9000/path?token=abc',
          access_key_id: 'AKIDEXAMPLE',
          secret_access_key_file: '/run/secrets/s3',
        },
      },
    });
    const location = objectStoreLocation(config);
    expect(location).toBe('s3://models-backup/prod/ at https://minio.internal:9000');
    for (const secret of ['hunter2', 'backup:', 'token', 'AKIDEXAMPLE', '/run/secrets']) {
      expect(location).not.toContain(secret);
    }
    expect(
      objectStoreLocation(configSchema.parse({ object_store: { s3: { bucket: 'b-1' } } })),
    ).toBe('s3://b-1/assistd/');
  });
});
