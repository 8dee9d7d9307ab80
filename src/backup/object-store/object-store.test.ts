import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { S3Server } from '../../../test/support/s3.js';
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
