// Appends records to a data dir's audit log from another process (the audit store tests run two
// of these beside the test process, as the server and the CLI would).
import { chainHash } from '../../src/security/audit/chain.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import { sampleEntry } from './audit.js';

const [path, countText, label] = process.argv.slice(2);
const store = openSqliteStore({ path: path! });
for (let index = 0; index < Number(countText); index++) {
  await store.audit.append([sampleEntry(index, { principal: label ?? 'child' })], chainHash);
}
await store.close();
