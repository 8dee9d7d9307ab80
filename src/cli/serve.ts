import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { createLogger, reopenLogFiles } from '../logger.js';
import { startServer } from '../server.js';
import { addServeOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';

/** `assistd serve` (also installed as `init-service`): run the service until SIGTERM or SIGINT. */
export function serveCommand(io: CliIo): Command {
  const command = new Command('serve').description(
    'run the chat service (the init-service command is the same as this)',
  );
  addServeOptions(command).action(async (flags: ConfigFlags) => {
    const config = loadConfig({ flags, env: io.env, cwd: io.cwd });
    let logger;
    try {
      logger = createLogger(config.log_level, { file: config.log_file });
    } catch (error) {
      throw new UsageError(
        `cannot write the log file ${config.log_file}: ${(error as Error).message}`,
      );
    }
    // Node prints a process warning (a library's deprecation, pg's notice on sslmode) as several
    // plain lines on stderr, among the JSON log lines: one JSON line each instead.
    process.removeAllListeners('warning');
    process.on('warning', (warning) => {
      logger.warn(
        { warning: warning.name, code: (warning as { code?: unknown }).code },
        warning.message,
      );
    });
    if (flags.apiKey !== undefined) {
      logger.warn(
        '--api-key leaves the key visible in the process list; prefer --api-key-file or API_KEY_FILE',
      );
    }
    let server;
    try {
      server = await startServer({ config, logger, announce: io.stdout });
    } catch (error) {
      logger.flush();
      const why = listenFailure((error as NodeJS.ErrnoException).code);
      if (why !== undefined) {
        throw new UsageError(`cannot listen on ${config.host}:${config.port}: ${why}`);
      }
      throw error;
    }
    // A stray rejection is a bug to log, not a reason to drop every client; an uncaught exception
    // leaves state unknown, so it is logged and the process exits (the supervisor restarts it).
    process.on('unhandledRejection', (reason) => {
      logger.error({ err: reason }, 'unhandled promise rejection');
    });
    process.on('uncaughtException', (error) => {
      logger.fatal({ err: error }, 'uncaught exception; exiting');
      logger.flush();
      process.exit(1);
    });
    // SIGHUP reopens the log file and rereads the policy file and the TLS certificate pair (all
    // are also watched).
    process.on('SIGHUP', () => {
      reopenLogFiles();
      logger.info('SIGHUP: reloading');
      void server.reload();
    });
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    // A second signal means "now": skip the drain.
    const force = () => process.exit(1);
    process.once('SIGTERM', force);
    process.once('SIGINT', force);
    await server.shutdown(signal);
  });
  return command;
}

/** Why the server could not listen, in words, for the errors a setting causes. */
function listenFailure(code: string | undefined): string | undefined {
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is already in use';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'the host name does not resolve (--host, ASSISTD_HOST)';
    case 'EADDRNOTAVAIL':
      return 'that address is not one of this machine (--host, ASSISTD_HOST)';
    case 'EACCES':
      return 'this user may not listen on that port (ports below 1024 need privileges)';
    default:
      return undefined;
  }
}
