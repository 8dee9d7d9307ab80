import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { environmentFailure } from './environment-errors.js';
import { StartupError } from '../providers/index.js';
import { backupCommands } from './backup.js';
import { alertsCommand } from './alerts.js';
import { auditCommand } from './audit.js';
import { UsageError, processIo, type CliIo } from './io.js';
import { modelsCommand } from './models.js';
import { policyCommand } from './policy.js';
import { cryptoCommand } from './crypto.js';
import { deployCommand } from './deploy.js';
import { doctorCommand } from './doctor.js';
import { keysCommand } from './keys.js';
import { serveCommand } from './serve.js';
import { tokensCommand } from './tokens.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('assistd')
    .description('a self-hosted AI assistant server')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  program.addCommand(serveCommand(io));
  program.addCommand(tokensCommand(io));
  program.addCommand(keysCommand(io));
  program.addCommand(cryptoCommand(io));
  program.addCommand(modelsCommand(io));
  program.addCommand(policyCommand(io));
  program.addCommand(auditCommand(io));
  program.addCommand(alertsCommand(io));
  for (const command of backupCommands(io)) program.addCommand(command);
  program.addCommand(doctorCommand(io));
  program.addCommand(deployCommand(io));
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 on success, 2 for a problem the user can fix
 * (bad flags, bad config, a missing model path), 1 for anything else.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  for (const command of program.commands.flatMap((c) => c.commands)) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      io.stderr(`assistd: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError || error instanceof StartupError) {
      io.stderr(`assistd: ${error.message}\n`);
      return 2;
    }
    const environment = environmentFailure(error);
    if (environment) {
      io.stderr(`assistd: ${environment.message}\n`);
      return environment.exitCode;
    }
    // A fault of assistd's own: one line, and where it happened only when asked for.
    const line = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const stack = io.env.ASSISTD_DEBUG === '1' && error instanceof Error ? error.stack : undefined;
    io.stderr(
      `assistd: unexpected error: ${line}\n` +
        (stack === undefined ? 'assistd: ASSISTD_DEBUG=1 shows where it happened\n' : `${stack}\n`),
    );
    return 1;
  }
}
