import { fail, pass, skip, warn, type Check } from './check.js';
import { queryNtp, SntpError } from './sntp.js';

/**
 * Clock offset above this warns: NTP-synced clocks are within milliseconds, so a second means the
 * sync is off, and audit timestamps, certificate validity and rate-limit windows drift with it.
 */
export const clockWarnMs = 1_000;

/** `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 123. */
export function parseNtpServer(value: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2] ?? 123) };
  const colons = value.split(':').length - 1;
  if (colons === 1) {
    const [host = '', port = ''] = value.split(':');
    return { host, port: Number(port) };
  }
  return { host: value, port: 123 }; // a bare name, or a bare IPv6 address
}

/**
 * The clock against an NTP server (SNTP over UDP). JWTs are checked with
 * `security.jwt.clock_tolerance_seconds` of slack (default 30 s): a clock off by more makes this
 * server refuse valid tokens (not yet valid, or expired early) and issue tokens other replicas
 * refuse, so an offset above the tolerance fails; above 1 s warns.
 */
export function ntpCheck(
  server: string | undefined,
  toleranceSeconds: number,
  now?: () => number,
): Check {
  return {
    id: 'clock-offset',
    title: 'Clock offset (NTP)',
    run: async ({ signal, timeoutMs }) => {
      if (server === undefined)
        return skip('no NTP server configured (doctor.ntp_server, --ntp-server)');
      const { host, port } = parseNtpServer(server);
      let result;
      try {
        result = await queryNtp({ host, port, timeoutMs, signal, ...(now ? { now } : {}) });
      } catch (error) {
        if (error instanceof SntpError) return fail(`NTP ${server}: ${error.message}`);
        throw error;
      }
      const seconds = result.offsetMs / 1000;
      const detail =
        `offset ${seconds >= 0 ? '+' : ''}${seconds.toFixed(3)} s against ${server} ` +
        `(stratum ${result.stratum}, round trip ${result.delayMs.toFixed(1)} ms)`;
      const failMs = Math.max(toleranceSeconds * 1000, clockWarnMs);
      if (Math.abs(result.offsetMs) > failMs) {
        return fail(
          `${detail}; more than the ${failMs / 1000} s JWT clock tolerance: tokens would be refused`,
        );
      }
      if (Math.abs(result.offsetMs) > clockWarnMs) {
        return warn(
          `${detail}; more than ${clockWarnMs / 1000} s: check time sync (chrony, systemd-timesyncd)`,
        );
      }
      return pass(detail);
    },
  };
}
