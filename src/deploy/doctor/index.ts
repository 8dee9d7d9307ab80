import type { Config } from '../../config/schema.js';
import type { Check } from './check.js';
import { dataDirChecks, logFileCheck } from './data-dir-checks.js';
import { endpointCheck } from './endpoint-check.js';
import { signingKeysCheck } from './keys-check.js';
import { modelChecks } from './model-checks.js';
import { nodeVersionCheck } from './node-check.js';
import { ntpCheck } from './ntp-check.js';
import { portChecks } from './port-check.js';
import { rulesChecks } from './rules-checks.js';
import { masterKeyCheck } from './security-checks.js';
import { servicesChecks } from './services-checks.js';
import { tlsCheck } from './tls-check.js';

export type { Check, CheckOutcome, CheckResult, CheckStatus } from './check.js';
export { allPassed, defaultCheckTimeoutMs, runChecks } from './runner.js';
export { renderJson, renderTable } from './render.js';

export interface DoctorOptions {
  /** NTP server for the clock check (`--ntp-server`); default `doctor.ntp_server`. */
  ntpServer?: string | undefined;
  /** Extra CA certificates trusted for the model endpoint (tests' self-signed certificates). */
  endpointCa?: string | Buffer | undefined;
  /** Wall clock, ms since the epoch (certificate and key ages). */
  now?: () => number;
}

/** Every preflight check of `config`, in report order: host, files, model, security, services. */
export function doctorChecks(config: Readonly<Config>, options: DoctorOptions = {}): Check[] {
  const now = options.now ?? Date.now;
  return [
    nodeVersionCheck(),
    ...portChecks(config),
    ...dataDirChecks(config.data_dir),
    logFileCheck(config.log_file),
    ...modelChecks(config),
    endpointCheck(config, {
      ...(options.endpointCa === undefined ? {} : { ca: options.endpointCa }),
      now,
    }),
    ntpCheck(
      options.ntpServer ?? config.doctor.ntp_server,
      config.security.jwt.clock_tolerance_seconds,
    ),
    signingKeysCheck(config, now),
    masterKeyCheck(config),
    tlsCheck(config, now),
    ...rulesChecks(config),
    ...servicesChecks(config),
  ];
}
