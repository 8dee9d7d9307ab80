import * as z from '../util/zod.js';
import {
  backupSchema,
  databaseSchema,
  logShippingSchema,
  objectStoreSchema,
  redisSchema,
} from './scale-out-schema.js';
import { channelSchema } from '../monitor/notifiers/config.js';

/** Log levels accepted by `--log-level` and `log_level`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const upstreamSchema = z.strictObject({
  /**
   * Model name sent to the endpoint and listed in /v1/models. When unset, the first model the
   * endpoint lists at GET /v1/models is used.
   */
  model: z.string().min(1).optional(),
  /** Context window of the endpoint's model, in tokens (endpoints do not report it). */
  context_window: z.int().min(256).default(8192),
  /** Whether the endpoint's model accepts `image_url` content parts. */
  accepts_images: z.boolean().default(false),
  /**
   * Whether the endpoint's model takes `tools` (function calling); false: requests with tools or
   * tool messages get 400 `unsupported_parameter` here.
   */
  accepts_tools: z.boolean().default(true),
  /** Whether it takes `response_format` `json_object` / `json_schema`; false: 400 here. */
  accepts_response_format: z.boolean().default(true),
  /** Keep-alive connections kept to the endpoint. */
  max_connections: z.int().min(1).max(4096).default(128),
  /** TCP + TLS connect timeout, in milliseconds. */
  connect_timeout_ms: z.int().min(1).default(5_000),
  /** Time allowed until the response headers arrive, in milliseconds. */
  first_byte_timeout_ms: z.int().min(1).default(60_000),
  /** Longest silence allowed between two chunks of a response body, in milliseconds. */
  idle_timeout_ms: z.int().min(1).default(30_000),
  /**
   * Longest a whole model call may take, retries and streaming included, in milliseconds: the
   * timeouts above restart with every byte, so an endpoint that drips bytes would hold a
   * request open for ever without it.
   */
  total_timeout_ms: z.int().min(1).default(600_000),
  /** Retries of a retryable failure (408, 409, 429, 5xx, connection errors) before the first byte. */
  max_retries: z.int().min(0).max(10).default(2),
  /** First retry delay in milliseconds; doubles each retry, with full jitter. */
  retry_base_delay_ms: z.int().min(0).default(250),
  /** Longest wait before one retry; a Retry-After longer than this is returned to the client. */
  retry_max_delay_ms: z.int().min(0).default(8_000),
  /** Hosts the endpoint may resolve to even though they look like cloud metadata services. */
  allow_hosts: z.array(z.string().min(1)).default([]),
});

const localModelSchema = z.strictObject({
  /**
   * Chats decoded together: the one context gets this many sequences, and every running chat
   * holds one. KV-cache memory grows linearly with it (see `assistd models inspect`).
   */
  max_batch_size: z.int().min(1).max(256).default(16),
  /**
   * Tokens each chat's sequence holds (its context window); capped at the length the model was
   * trained for.
   */
  context_size: z.int().min(256).max(1_048_576).default(4096),
  /**
   * Decoding threads. Default: half the CPUs, at least 1. More threads than free cores is far
   * slower, not faster: on a 2-core machine all cores made decoding about 1,000× slower.
   */
  threads: z.int().min(1).max(1024).optional(),
  /** Offload layers to a GPU (CUDA or Vulkan) when one is found; off by default. */
  gpu: z.boolean().default(false),
  /** Requests that may wait when every sequence is busy; more get 429 `server_busy` at once. */
  queue_max: z.int().min(0).max(100_000).default(64),
  /** Longest wait for a free sequence, in milliseconds; then 429 `server_busy`. */
  queue_timeout_ms: z.int().min(1).default(30_000),
  /** Sampling temperature when a request sets none. */
  default_temperature: z.number().min(0).max(2).default(0.8),
  /**
   * Memory the model may need (weights + KV cache of every sequence), in MiB; the server refuses
   * to start above it. Default: 80 % of the machine's RAM.
   */
  memory_limit_mb: z.int().min(1).optional(),
  /** The demo model made when no model is configured; `false` starts with no model at all. */
  demo: z.boolean().default(true),
});

const securitySchema = z.strictObject({
  /**
   * The master key file of the encryption at rest (versioned keys, mode 0600). Unset: generated
   * as `<data_dir>/master.key` on first start, with a warning to move it to a secret store.
   */
  master_key_file: z.string().min(1).optional(),
  /**
   * IAM-style policy file (YAML). Unset: the built-in policies (every caller may chat, list
   * models and manage their own conversations; administrators may do everything).
   */
  policies_file: z.string().min(1).optional(),
  /** Days a signing key signs before it is rotated automatically. */
  key_rotation_days: z.number().min(1).max(3650).default(90),
  /**
   * Longest token lifetime in days (`tokens issue --ttl` is capped by it); a rotated key keeps
   * verifying this long after it stopped signing.
   */
  max_token_ttl_days: z.number().min(1).max(3650).default(90),
  jwt: z
    .strictObject({
      /** `iss` of the tokens this server issues. */
      issuer: z.string().min(1).default('assistd'),
      /** Other issuers whose tokens are accepted (their public keys imported with keys import). */
      accepted_issuers: z.array(z.string().min(1)).default([]),
      /** `aud` every token must carry. */
      audience: z.string().min(1).default('assistd'),
      /** Clock skew tolerated on exp and nbf, in seconds. */
      clock_tolerance_seconds: z.int().min(0).max(300).default(30),
    })
    .prefault({}),
});

/** HTTPS served by this process (TLS 1.3 only), or the statement that a proxy terminates TLS. */
const tlsSchema = z
  .strictObject({
    /**
     * PEM certificate (chain, leaf first) served over TLS 1.3. Set with `key_file`; both are
     * reloaded on SIGHUP and when either file changes.
     */
    cert_file: z.string().min(1).optional(),
    /** PEM private key of `cert_file` (unencrypted; keep it mode 0600). */
    key_file: z.string().min(1).optional(),
    /**
     * Plain HTTP on a non-loopback address is refused unless this says that TLS ends at a proxy
     * or ingress in front of the server.
     */
    terminated_by_proxy: z.boolean().default(false),
  })
  .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), {
    message: 'tls.cert_file and tls.key_file go together: set both or neither',
  });

const contextCacheSchema = z.strictObject({
  /** How long a conversation's context stays cached after its last use, in seconds. */
  ttl_seconds: z.int().min(1).default(1800),
  /** Most conversations kept. */
  max_entries: z.int().min(1).default(10_000),
  /** Most bytes of message text kept, across all entries. */
  max_bytes: z
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
});

const dialogSchema = z.strictObject({
  /** Tokens reserved for the answer when a request does not set max_tokens. */
  default_max_tokens: z.int().min(1).default(1024),
});

const storageSchema = z.strictObject({
  /**
   * SQLite `synchronous` in WAL mode. `normal`: every committed turn survives a process crash
   * (kill -9); a power loss or kernel crash may lose the last turns but never corrupts the file.
   * `full`: each turn is fsynced before the answer is acknowledged (about 0.2 ms of blocked event
   * loop per turn here).
   */
  sqlite_synchronous: z.enum(['normal', 'full']).default('normal'),
});

/** The hash-chained audit log (security/audit). */
const auditSchema = z.strictObject({
  /**
   * Write an audit record for every request and administrative operation. Off only to measure
   * what the log costs (env ASSISTD_AUDIT_ENABLED=false): with it off nothing is recorded.
   */
  enabled: z.boolean().default(true),
  /** A signed checkpoint after this many records… */
  checkpoint_every_records: z.int().min(1).default(1000),
  /** …or this many seconds (when records were added), and at shutdown. */
  checkpoint_every_seconds: z.int().min(1).default(60),
  /** Records waiting for their transaction at most; beyond, requests get 503 audit_unavailable. */
  max_pending: z.int().min(100).default(10_000),
  /**
   * SQLite only: while records arrive at `writer_thread_min_rate` a second or more and the event
   * loop is busy (`writer_thread_min_utilization`), their transactions run in a worker thread
   * with its own connection, beside the requests instead of between them (a saturated server's
   * throughput; storage/sqlite/audit-writer.ts). The thread stops after 5 minutes unused.
   * False: always in the event-loop thread.
   */
  writer_thread: z.boolean().default(true),
  /** Records a second from which the writer thread takes over (0: from the first record)… */
  writer_thread_min_rate: z.int().min(0).default(100),
  /**
   * …with the event loop at least this busy (0–1, over a quarter second; 0: at any load). Below
   * it the loop has time to spare and the thread's hop would only add latency.
   */
  writer_thread_min_utilization: z.number().min(0).max(1).default(0.85),
});

/** Prometheus metrics and the in-process time series (monitor/). */
const metricsSchema = z.strictObject({
  /**
   * Collect metrics and time series (and evaluate alerts). Off only to measure what they cost:
   * `/metrics` and `/admin/metrics/series` then answer 404.
   */
  enabled: z.boolean().default(true),
  /**
   * A second listener, `HOST:PORT`, serving only `GET /metrics` without authentication (for a
   * Prometheus that scrapes pod IPs). Absent: `/metrics` is served on the main port and needs a
   * token allowed `get:metrics`.
   */
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 10.0.0.5:9464')
    .optional(),
  /** Width of one time-series slot and the sampling period, seconds. */
  series_resolution_seconds: z.int().min(1).max(3600).default(10),
  /** How far back the time series reach, hours (memory is fixed by this and the resolution). */
  series_retention_hours: z
    .number()
    .min(0.01)
    .max(24 * 31)
    .default(24),
});

const channelName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'channel names are 1–64 letters, digits, dots, dashes or _');

/** Overrides of a channel's sending limits (monitor/alerts/channel-sender.ts has the defaults). */
const channelLimitsSchema = z.strictObject({
  /** Sends in any 60 s at most (WeCom and DingTalk robots take 20). */
  per_minute: z.int().min(1).max(10_000).optional(),
  /** Notifications waiting at most; the oldest is dropped past it. */
  queue_size: z.int().min(1).max(10_000).optional(),
  /** How long a group of alerts stays open for more of the same status, seconds. */
  group_wait_seconds: z.number().min(0).max(600).optional(),
  /** One attempt's limit, seconds; the notifier is then abandoned (and retried). */
  send_timeout_seconds: z.number().min(0.1).max(300).optional(),
  /** Attempts per notification, the first included. */
  max_attempts: z.int().min(1).max(20).optional(),
});

/** The alert engine (monitor/alerts) and its notification channels (monitor/notifiers). */
const alertsSchema = z.strictObject({
  /** Evaluate alert rules (needs `metrics.enabled`). */
  enabled: z.boolean().default(true),
  /** A YAML rules file replacing the three built-in runbook rules; reloaded when it changes. */
  rules_file: z.string().min(1).optional(),
  /** The console's URL, for links in messages (Alertmanager `externalURL`). */
  external_url: z.url().optional(),
  /** Channels by name; the built-in rules send to `email`, `sms`, `wecom` and `phone`. */
  channels: z.record(channelName, channelSchema).default({}),
  channel_limits: z.record(channelName, channelLimitsSchema).default({}),
});

/** The web console (`web/`, built into `dist/console/`) served at `/`. */
const consoleSchema = z.strictObject({
  /**
   * Serve the console's page and assets at `/` and `/console/assets/`, its session routes
   * (`/console/session`) and the session cookie as a credential. `false`, for servers that only
   * offer the API: `/` answers a 404 page saying the console is disabled, the assets and the
   * session routes 404, and a session cookie is ignored (only bearer tokens authenticate).
   */
  enabled: z.boolean().default(true),
});

/** `assistd doctor` (the preflight): settings only it reads. */
const doctorSchema = z.strictObject({
  /**
   * NTP server the clock is compared with, `host` or `host:port` (`[v6]:port`; port 123 by
   * default), over SNTP on UDP. Unset: the clock check is skipped (many networks block UDP 123).
   */
  ntp_server: z
    .string()
    .regex(
      /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+)(:\d{1,5})?$/,
      'must be HOST or HOST:PORT, e.g. pool.ntp.org',
    )
    .optional(),
});

const limitsSchema = z.strictObject({
  /** Largest request body accepted, in bytes (413 above). */
  body_bytes: z
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Requests a principal may make per minute (token bucket); 429 rate_limited above. */
  requests_per_minute: z.int().min(1).default(600),
  /** Requests a principal may make at once after being idle (bucket size). */
  request_burst: z.int().min(1).default(120),
  /** Model tokens (prompt + answer) a principal may use per minute. */
  tokens_per_minute: z.int().min(1).default(200_000),
  /** Model tokens a principal may use at once after being idle. */
  token_burst: z.int().min(1).default(200_000),
  /** Failed authentications from one address that lock it out. */
  failed_auth_max: z.int().min(1).default(10),
  /** Window the failures are counted in, seconds. */
  failed_auth_window_seconds: z.int().min(1).default(300),
  /** How long a locked-out address is refused, seconds. */
  lockout_seconds: z.int().min(1).default(900),
  /** Principals and addresses tracked at most (least recently seen are forgotten). */
  tracked_keys: z.int().min(100).default(100_000),
  /** Origins allowed to call the API from a browser (CORS); empty: no CORS headers at all. */
  cors_origins: z.array(z.url()).default([]),
  /** Open client connections at most; more are closed as they arrive (each holds a descriptor). */
  max_connections: z.int().min(16).max(1_000_000).default(8192),
  /** Time a client has to send its request headers (slow-loris); then the connection is closed. */
  headers_timeout_seconds: z.int().min(1).max(600).default(15),
  /** Time a client has to send its whole request, body included; then 408 and closed. */
  request_timeout_seconds: z.int().min(1).max(3600).default(60),
  /** An idle keep-alive connection is closed after this long. */
  keep_alive_timeout_seconds: z.int().min(1).max(3600).default(72),
  /**
   * A streamed answer whose client stops reading for this long (the socket's buffer stays full)
   * is cut off: its generation stops and its model sequence is freed.
   */
  stream_stall_seconds: z.int().min(1).max(3600).default(60),
});

export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65535).default(18789),
  data_dir: z.string().min(1).default('./data'),
  log_level: z.enum(logLevels).default('info'),
  /**
   * Append the JSON log lines to this file instead of stdout (created with mode 0640). SIGHUP
   * reopens it, so logrotate can move it away (no copytruncate needed). Unset: stdout, which is
   * what container runtimes collect.
   */
  log_file: z.string().min(1).optional(),
  /** Model used when a request names none; see `resolveDefaultModel`. */
  default_model: z.string().min(1).optional(),
  /** A local GGUF model file or a folder holding one. */
  model_path: z.string().min(1).optional(),
  /** Base URL of an OpenAI-compatible endpoint, e.g. https://api.example.com or …/v1. */
  model_endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** The endpoint's API key. Secret: pass it by file, env or flag, never in a committed config. */
  api_key: z.string().min(1).optional(),
  /** File holding the endpoint's API key (read once at start, surrounding whitespace trimmed). */
  api_key_file: z.string().min(1).optional(),
  upstream: upstreamSchema.prefault({}),
  local_model: localModelSchema.prefault({}),
  security: securitySchema.prefault({}),
  tls: tlsSchema.prefault({}),
  context_cache: contextCacheSchema.prefault({}),
  dialog: dialogSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  storage: storageSchema.prefault({}),
  database: databaseSchema.prefault({}),
  redis: redisSchema.prefault({}),
  object_store: objectStoreSchema.prefault({}),
  backup: backupSchema.prefault({}),
  log_shipping: logShippingSchema.prefault({}),
  audit: auditSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  doctor: doctorSchema.prefault({}),
  console: consoleSchema.prefault({}),
  /** Seconds that in-flight requests get to finish after SIGTERM before they are cut. */
  shutdown_grace_seconds: z.number().min(0).max(3600).default(25),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
