import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Server } from '../../../test/support/s3.js';
import { withRepositoryLock } from '../repository-lock.js';
import { runObjectStoreContract } from './contract.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';

runObjectStoreContract('local folder', () =>
  Promise.resolve(new LocalObjectStore(mkdtempSync(join(tmpdir(), 'assistd-objects-')))),
);

let server: S3Server;
const opened: S3ObjectStore[] = [];
beforeAll(async () => {
  server = await S3Server.start();
}, 20_000);
afterAll(async () => {
  for (const store of opened) store.close();
  await server.stop();
});

let stores = 0;
runObjectStoreContract('S3 (s3rver on loopback)', () => {
  const store = new S3ObjectStore({
    bucket: server.bucket,
    // Each test in a prefix of its own; small pages so listing crosses continuation tokens.
    prefix: `run-${++stores}`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: S3Server.credentials,
    pageSize: 2,
  });
  opened.push(store);
  return Promise.resolve(store);
});

describe('S3 listing', () => {
  it("leaves out objects it could not address, such as a console's folder marker", async () => {
    const store = new S3ObjectStore({
      bucket: server.bucket,
      prefix: 'markers',
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: S3Server.credentials,
    });
    opened.push(store);
    const client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: S3Server.credentials,
      forcePathStyle: true,
    });
    try {
      for (const key of ['markers/locks/', 'markers/snapshots/']) {
        await client.send(
          new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: new Uint8Array() }),
        );
      }
    } finally {
      client.destroy();
    }
    await store.put('snapshots/a', Buffer.from('x'));
    const listed = async (prefix: string) => {
      const keys: string[] = [];
      for await (const item of store.list(prefix)) keys.push(item.key);
      return keys;
    };
    expect(await listed('locks/')).toEqual([]);
    expect(await listed('snapshots/')).toEqual(['snapshots/a']);
    // A backup's lock is taken and released past the marker (it stopped every backup and prune).
    expect(await withRepositoryLock(store, 'backup', 'locks/x', () => Promise.resolve(7))).toBe(7);
  });
});
