import { type Command, Option } from 'commander';
import { logLevels } from '../config/schema.js';

/**
 * The flags shared by `serve` and the offline commands. No flag has a commander default: an
 * absent flag lets the config file and the environment show through (defaults < file < env < flags).
 */
export function addStoreOptions(command: Command): Command {
  return command
    .option('--config <file>', 'YAML config file (env ASSISTD_CONFIG)')
    .option('--data-dir <dir>', 'data directory (env ASSISTD_DATA_DIR; default ./data)')
    .option(
      '--database-url <url>',
      'PostgreSQL shared by replicas, postgres://user@host:5432/db (env ASSISTD_DATABASE_URL; default: SQLite in the data dir)',
    )
    .option(
      '--redis-url <url>',
      'Redis shared by replicas: context cache, rate limits, rotation lock, reload channel (env ASSISTD_REDIS_URL; default: in process)',
    );
}

export function addServeOptions(command: Command): Command {
  return addStoreOptions(command)
    .option('--host <address>', 'address to listen on (env ASSISTD_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (env ASSISTD_PORT; default 18789)')
    .option('--model-path <path>', 'local GGUF model file or folder (env ASSISTD_MODEL_PATH)')
    .option(
      '--max-batch-size <n>',
      'local model: chats decoded together (env ASSISTD_MAX_BATCH_SIZE; default 16)',
    )
    .option(
      '--context-size <tokens>',
      'local model: context window of each chat (env ASSISTD_CONTEXT_SIZE; default 4096)',
    )
    .option(
      '--threads <n>',
      'local model: decoding threads (env ASSISTD_THREADS; default half the CPUs)',
    )
    .option(
      '--policies <file>',
      'IAM-style policy file, reloaded on change or SIGHUP (env ASSISTD_POLICIES_FILE)',
    )
    .option(
      '--tls-cert <file>',
      'serve HTTPS (TLS 1.3 only) with this PEM certificate; reloaded on change or SIGHUP (env ASSISTD_TLS_CERT_FILE)',
    )
    .option('--tls-key <file>', 'the private key of --tls-cert (env ASSISTD_TLS_KEY_FILE)')
    .option(
      '--tls-terminated-by-proxy',
      'allow plain HTTP on a non-loopback --host: TLS ends at a proxy or ingress in front (env ASSISTD_TLS_TERMINATED_BY_PROXY)',
    )
    .option('--model-endpoint <url>', 'OpenAI-compatible endpoint base URL (env MODEL_ENDPOINT)')
    .option(
      '--upstream-model <name>',
      "the endpoint's model name (env ASSISTD_UPSTREAM_MODEL; default: its first listed)",
    )
    .option(
      '--default-model <id>',
      'model used when a request names none (env ASSISTD_DEFAULT_MODEL)',
    )
    .option('--api-key <key>', "the endpoint's API key (env API_KEY; prefer --api-key-file)")
    .option('--api-key-file <file>', "file holding the endpoint's API key (env API_KEY_FILE)")
    .option(
      '--log-file <file>',
      'append logs to this file instead of stdout; SIGHUP reopens it (env ASSISTD_LOG_FILE)',
    )
    .addOption(
      new Option('--log-level <level>', 'log level (env ASSISTD_LOG_LEVEL; default info)').choices(
        logLevels,
      ),
    );
}
