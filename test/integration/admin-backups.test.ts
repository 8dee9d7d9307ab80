import { randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

interface LastRun {
  started_at: string;
  finished_at: string;
  trigger: string;
  snapshot: string | null;
  files: number;
  added_bytes: number;
  pruned: number;
  skipped: string[];
  skipped_count: number;
  error: string | null;
}

interface BackupList {
  object: string;
  target: string;
  folder: string;
  schedule: string | null;
  retention: { keep_daily: number; keep_weekly: number; keep_monthly: number };
  running: { started_at: string; trigger: string } | null;
  last_run: LastRun | null;
  data: Array<{ id: string; created_at: string; files: number; bytes: number }>;
  has_more: boolean;
  unreadable_snapshots: string[];
  log_shipping: {
    enabled: boolean;
    shipped_segments: number;
    last_lag_ms: number | null;
    failures: number;
  };
}

interface ErrorBody {
  error: { code: string; type: string; message: string; param?: string | null };
}

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown;

/** Polls `check` every 25 ms until it returns a value, for at most `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the backups admin API (local object folder)', () => {
  let harness: Harness;
  let modelsFolder: string;
  // Big enough that a backup is still running when the next request arrives (chunking, AES-GCM,
  // an fsync per chunk): about 24 chunks.
  const modelBytes = 24 * 1024 * 1024;

  beforeAll(async () => {
    modelsFolder = mkdtempSync(join(tmpdir(), 'assistd-backup-models-'));
    writeFileSync(join(modelsFolder, 'model.gguf'), randomBytes(modelBytes));
    writeFileSync(join(modelsFolder, 'tokenizer.json'), '{"vocab":[]}');
    // A link to a folder is not backed up, and the run says so.
    symlinkSync(tmpdir(), join(modelsFolder, 'cache-link'));
    harness = await Harness.start({
      config: {
        backup: { models_folder: modelsFolder, keep_daily: 3 },
        log_shipping: { enabled: true, max_delay_seconds: 0.2 },
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    rmSync(modelsFolder, { recursive: true, force: true });
  });

  const list = () => harness.json<BackupList & ErrorBody>('/admin/backups');

  it('shows where backups go and an empty repository on a fresh server', async () => {
    const response = await list();
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      object: 'list',
      target: `folder ${join(harness.dataDir, 'objects')}`,
      folder: modelsFolder,
      schedule: null,
      retention: { keep_daily: 3, keep_weekly: 4, keep_monthly: 6 },
      running: null,
      last_run: null,
      data: [],
      has_more: false,
      unreadable_snapshots: [],
      log_shipping: { enabled: true, shipped_segments: 0, last_lag_ms: null, failures: 0 },
    });
  });

  it('refuses a caller without list:backup or create:backup (403)', async () => {
    const read = await harness.json<ErrorBody>('/admin/backups', { principal: 'reader' });
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('permission_denied');
    const start = await harness.json<ErrorBody>('/admin/backups', {
      method: 'POST',
      principal: 'reader',
    });
    expect(start.status).toBe(403);
    expect((await list()).body.running).toBeNull();
  });

  it('refuses a body other than {} (400)', async () => {
    // A JSON string is sent as written: '"now"' is valid JSON, but not an object.
    for (const body of [{ folder: '/etc' }, [], '"now"']) {
      const response = await harness.json<ErrorBody>('/admin/backups', { method: 'POST', body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
    expect((await list()).body.running).toBeNull();
  });

  it('starts a backup (202), refuses a second one while it runs (409), then lists its snapshot', async () => {
    const started = await harness.json<{ status: string; started_at: string }>('/admin/backups', {
      method: 'POST',
    });
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ status: 'started', started_at: isoTime });

    const again = await harness.json<ErrorBody>('/admin/backups', { method: 'POST', body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'backup_running', type: 'conflict_error' });

    const done = await until(async () => {
      const body = (await list()).body;
      return body.last_run === null ? undefined : body;
    }, 20_000);
    expect(done.running).toBeNull();
    expect(done.last_run).toEqual({
      started_at: started.body.started_at,
      finished_at: isoTime,
      trigger: 'admin',
      snapshot: expect.any(String) as unknown,
      files: 2,
      added_bytes: expect.any(Number) as unknown,
      pruned: 0,
      skipped: ['cache-link'],
      skipped_count: 1,
      error: null,
    });
    expect(done.last_run!.added_bytes).toBeGreaterThanOrEqual(modelBytes);
    expect(done.data).toEqual([
      {
        id: done.last_run!.snapshot,
        created_at: isoTime,
        files: 2,
        bytes: modelBytes + '{"vocab":[]}'.length,
      },
    ]);
    expect(done.has_more).toBe(false);

    // Audited twice: the request (who started it) and the run (what it made).
    const audit = await harness.json<{ data: Array<Record<string, unknown>> }>(
      '/admin/audit?action=create:backup&limit=1000',
    );
    expect(audit.body.data).toContainEqual(
      expect.objectContaining({
        source: 'http',
        method: 'POST',
        status: 202,
        resource: '/admin/backups',
        details: { trigger: 'admin' },
      }),
    );
    expect(audit.body.data).toContainEqual(
      expect.objectContaining({
        source: 'server',
        error: null,
        details: {
          operation: 'requested',
          snapshot: done.last_run!.snapshot,
          pruned_snapshots: 0,
        },
      }),
    );
  }, 30_000);

  it('lists the other snapshots past a damaged one and names it', async () => {
    const snapshots = join(harness.dataDir, 'objects', 'snapshots');
    const [id] = readdirSync(snapshots);
    const sealed = readFileSync(join(snapshots, id!));
    const damaged = Buffer.from(sealed);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 1, damaged.length - 1);
    writeFileSync(join(snapshots, id!), damaged);
    try {
      const response = await list();
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual([]);
      expect(response.body.unreadable_snapshots).toEqual([id]);
    } finally {
      writeFileSync(join(snapshots, id!), sealed);
    }
    expect((await list()).body.data.map((snapshot) => snapshot.id)).toEqual([id]);
  });

  it('reports conversation-log shipping after a chat turn', async () => {
    const chat = await harness.request('/v1/chat', {
      principal: 'shipper@example.com',
      body: { messages: [{ role: 'user', content: 'ship this turn please' }] },
    });
    expect(chat.status).toBe(200);
    await chat.text();
    const shipping = await until(async () => {
      const body = (await list()).body;
      return body.log_shipping.shipped_segments >= 1 ? body.log_shipping : undefined;
    }, 10_000);
    expect(shipping).toEqual({
      enabled: true,
      shipped_segments: expect.any(Number) as unknown,
      last_lag_ms: expect.any(Number) as unknown,
      failures: 0,
    });
    expect(shipping.last_lag_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('the backups admin API with an unreachable object store', () => {
  let harness: Harness;
  const secretDir = mkdtempSync(join(tmpdir(), 'assistd-backup-secret-'));

  beforeAll(async () => {
    // A port that was free a moment ago: nothing answers on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const secretFile = join(secretDir, 's3-secret');
    writeFileSync(secretFile, 'not-a-real-secret-0123456789', { mode: 0o600 });
    harness = await Harness.start({
      config: {
        object_store: {
          s3: {
            bucket: 'assistd-test',
            endpoint: `http://127.0.0.1:${port}`,
            access_key_id: 'AKIDEXAMPLE',
            secret_access_key_file: secretFile,
          },
        },
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    rmSync(secretDir, { recursive: true, force: true });
  });

  it('answers 503 backup_unavailable (never a 500) and logs the reason', async () => {
    const response = await harness.json<ErrorBody>('/admin/backups');
    expect(response.status).toBe(503);
    expect(response.body.error).toEqual({
      code: 'backup_unavailable',
      type: 'server_error',
      message: expect.stringContaining('object_store') as unknown,
      param: null,
    });
    expect(response.body.error.message).not.toContain('127.0.0.1');
    expect(harness.logs()).toContain('the backup repository cannot be read');
  }, 20_000);

  it('still starts a backup by hand; its failure is logged', async () => {
    const started = await harness.json('/admin/backups', { method: 'POST' });
    expect(started.status).toBe(202);
    await until(
      () => Promise.resolve(harness.logs().includes('requested model backup failed') || undefined),
      15_000,
    );
  }, 20_000);
});
