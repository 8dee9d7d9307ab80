import * as z from '../util/zod.js';
import { CronSchedule } from '../util/cron.js';

// The settings of a scaled-out deployment (replicas sharing PostgreSQL, Redis and object storage)
// and of disaster recovery (backups, conversation-log shipping); part of `configSchema`.

/** A PostgreSQL identifier that needs no quoting, as `database.schema` must be. */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL instead of the embedded SQLite file, for replicas that share one database. Unset
 * `url`: SQLite in `data_dir`. The password goes in `password_file` (a mounted secret),
 * `PGPASSWORD` or `~/.pgpass`, not in the URL: the URL is not treated as a secret.
 */
export const databaseSchema = z.strictObject({
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  /** File holding the database password (read once at start, surrounding whitespace trimmed). */
  password_file: z.string().min(1).optional(),
  /** Schema for assistd's tables, created when missing. */
  schema: z
    .string()
    .regex(schemaNamePattern, {
      error: 'must be a lowercase identifier (letters, digits, underscore)',
    })
    .default('public'),
  /** Connections at most, per replica. */
  pool_size: z.int().min(1).max(500).default(10),
  /** How long a query waits for a connection before answering 503 store_unavailable, ms. */
  connect_timeout_ms: z.int().min(100).max(600_000).default(5_000),
  /** Longest a statement may run, ms (0: no limit). */
  statement_timeout_ms: z.int().min(0).max(3_600_000).default(30_000),
});

/**
 * Redis shared by replicas: the context cache, rate-limit buckets, the key-rotation lock and the
 * reload channel. Unset `url`: all of these stay in process (one replica).
 */
export const redisSchema = z.strictObject({
  /** `redis://[user:password@]host:6379[/db]` or `rediss://` for TLS. */
  url: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** File holding the Redis password (overrides one in the URL). */
  password_file: z.string().min(1).optional(),
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  key_prefix: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('assistd:'),
  /** Longest wait for one Redis command before it counts as down, ms. */
  command_timeout_ms: z.int().min(10).max(60_000).default(500),
  /**
   * Rate limiting while Redis is down. `local`: each replica limits on its own (a principal gets
   * up to N times its budget across N replicas); `open`: no limit; `closed`: every request is
   * refused with 503 rate_limit_unavailable.
   */
  rate_limit_on_failure: z.enum(['local', 'open', 'closed']).default('local'),
});

/**
 * Where backups go: a local folder (default `<data_dir>/objects`; put it on another disk) or an
 * S3-compatible bucket when `s3.bucket` is set. Credentials: `s3.access_key_id` with
 * `s3.secret_access_key_file`, or the AWS SDK's own chain (env, files, pod identity).
 */
export const objectStoreSchema = z.strictObject({
  folder: z.string().min(1).optional(),
  s3: z
    .strictObject({
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
        error: 'must be an S3 bucket name (3–63 lowercase letters, digits, dots, hyphens)',
      }),
      prefix: z
        .string()
        .regex(/^([A-Za-z0-9._-]+\/?)*$/)
        .default('assistd/'),
      /** An S3-compatible endpoint (MinIO, Ceph…); omitted for AWS. */
      endpoint: z.url({ protocol: /^https?$/ }).optional(),
      region: z.string().min(1).default('us-east-1'),
      access_key_id: z.string().min(1).optional(),
      secret_access_key_file: z.string().min(1).optional(),
    })
    .optional(),
});

/** Model backups (`assistd backup models`): what to back up and how long to keep it. */
export const backupSchema = z.strictObject({
  /** Folder of model files; default: the folder of `model_path`, else `<data_dir>/models`. */
  models_folder: z.string().min(1).optional(),
  /**
   * When the server backs up the model folder and prunes to the retention policy, as a cron
   * expression in UTC (`0 3 * * *`: daily at 03:00). Unset: only on demand (`assistd backup`).
   * With replicas, one of them runs each backup (Redis lock).
   */
  schedule: z
    .string()
    .refine(
      (expression) => {
        try {
          new CronSchedule(expression);
          return true;
        } catch {
          return false;
        }
      },
      {
        error:
          'must be a five-field cron expression (minute hour day month weekday), e.g. "0 3 * * *"',
      },
    )
    .optional(),
  keep_daily: z.int().min(0).default(7),
  keep_weekly: z.int().min(0).default(4),
  keep_monthly: z.int().min(0).default(6),
});

/**
 * Real-time shipping of the conversation log to `object_store`: every stored turn, rename and
 * delete is appended to a local fsynced, encrypted segment, and segments are uploaded at most
 * `max_delay_seconds` after their first record (the recovery point of `restore conversations`).
 */
export const logShippingSchema = z.strictObject({
  enabled: z.boolean().default(false),
  max_delay_seconds: z.number().min(0.1).max(3600).default(5),
});
