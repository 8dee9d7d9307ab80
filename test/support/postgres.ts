import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use: the machine's own (`.ci/run` starts it when it is down). */
export const testDatabaseUrl =
  process.env.ASSISTD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const made: string[] = [];

/** A schema name no other test uses; `dropTestSchemas` removes every one made in this file. */
export function testSchema(label = 'test'): string {
  const name = `assistd_${label}_${randomBytes(5).toString('hex')}`;
  made.push(name);
  return name;
}

export async function dropTestSchemas(): Promise<void> {
  if (made.length === 0) return;
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    for (const name of made.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  } finally {
    await client.end();
  }
}
