import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { describeStore } from './open.js';

describe('describeStore', () => {
  it('names the SQLite file, or the PostgreSQL server and schema without the password', () => {
    expect(describeStore(configSchema.parse({ data_dir: '/var/lib/assistd' }))).toBe(
      'SQLite /var/lib/assistd/assistd.db',
    );
    const config = configSchema.parse({
      database: { url: 'postgres://assistd:hunter2@db.internal:5432/assistd', schema: 'chat' },
    });
    const described = describeStore(config);
    expect(described).toBe('PostgreSQL postgres://assistd@db.internal:5432/assistd (schema chat)');
    expect(described).not.toContain('hunter2');
  });
});

describe('database settings', () => {
  it('refuse a URL that is not PostgreSQL and a schema name that would need quoting', () => {
    expect(configSchema.safeParse({ database: { url: 'mysql://x' } }).success).toBe(false);
    expect(configSchema.safeParse({ database: { schema: 'Chat; DROP' } }).success).toBe(false);
    expect(configSchema.safeParse({ database: { schema: 'assistd_prod' } }).success).toBe(true);
  });
});
