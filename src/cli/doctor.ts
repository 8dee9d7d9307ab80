import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { parseNtpServer } from '../deploy/doctor/ntp-check.js';
import { defaultCheckTimeoutMs } from '../deploy/doctor/runner.js';
import { addServeOptions } from './config-options.js';
import { UsageError, type CliIo } from './io.js';

interface DoctorFlags extends ConfigFlags {
  json?: boolean;
  timeout?: string;
  ntpServer?: string;
}

/**
 * `assistd doctor`: checks the configuration `serve` would run with (same flags, files and env)
 * before it does. Exit 0 when nothing failed (warnings included), 1 when a check failed, 2 for a
 * configuration that does not even load.
 */
export function doctorCommand(io: CliIo): Command {
  const command = new Command('doctor').description(
    'preflight: check the configuration serve would run with (ports, disk, model, endpoint, keys, TLS, services)',
  );
  addServeOptions(command)
    .option('--json', 'print { ok, checks: [...] } instead of a table')
    .option(
      '--timeout <ms>',
      `limit of each check (of each stage of the endpoint check), ms (default ${defaultCheckTimeoutMs})`,
    )
    .option(
      '--ntp-server <host[:port]>',
      'compare the clock with this NTP server over SNTP (UDP 123; default doctor.ntp_server, else skipped)',
    )
    .action(async (flags: DoctorFlags) => {
      const { json, timeout, ntpServer, ...configFlags } = flags;
      const timeoutMs = timeout === undefined ? defaultCheckTimeoutMs : Number(timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
        throw new UsageError('--timeout must be a whole number of milliseconds from 1 to 600000');
      }
      if (ntpServer !== undefined) {
        const { host, port } = parseNtpServer(ntpServer);
        if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
          throw new UsageError(`--ntp-server must be HOST or HOST:PORT, got "${ntpServer}"`);
        }
      }
      const config = loadConfig({ flags: configFlags, env: io.env, cwd: io.cwd });
      // Loaded here, not at start: the checks pull in clients (Redis, PostgreSQL) serve may not need.
      const { allPassed, doctorChecks, renderJson, renderTable, runChecks } =
        await import('../deploy/doctor/index.js');
      const results = await runChecks(doctorChecks(config, { ntpServer }), { timeoutMs });
      io.stdout(json === true ? renderJson(results) : renderTable(results));
      if (!allPassed(results)) {
        const failed = results.filter((result) => result.status === 'fail').length;
        throw new UsageError(`doctor: ${failed} check${failed === 1 ? '' : 's'} failed`, 1);
      }
    });
  return command;
}
