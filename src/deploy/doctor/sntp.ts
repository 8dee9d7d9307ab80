import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
const ntpEpochOffsetSeconds = 2_208_988_800;
const packetBytes = 48;
/** LI 0 (no warning), version 4, mode 3 (client). */
const clientHeader = (0 << 6) | (4 << 3) | 3;
const serverMode = 4;

export interface SntpResult {
  /** How far this clock is behind the server's (positive: the server is ahead), ms. */
  offsetMs: number;
  /** Round-trip delay minus the server's processing time, ms. */
  delayMs: number;
  stratum: number;
}

export interface SntpOptions {
  host: string;
  /** Default 123. */
  port?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Wall clock in ms since the Unix epoch (tests shift it). */
  now?: () => number;
}

/** Failure of an SNTP exchange; `timedOut` when no valid answer came in time. */
export class SntpError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'SntpError';
  }
}

/**
 * One SNTP exchange (RFC 4330): a 48-byte client request carrying our transmit time t0, the
 * server's receive (t1) and transmit (t2) times, our receive time t3. Offset is
 * ((t1 − t0) + (t2 − t3)) / 2, delay (t3 − t0) − (t2 − t1). Answers that do not echo t0 as
 * their origin time (stale or spoofed) are ignored until the timeout.
 */
export function queryNtp(options: SntpOptions): Promise<SntpResult> {
  const now = options.now ?? Date.now;
  const port = options.port ?? 123;
  const socket = createSocket(isIP(options.host) === 6 ? 'udp6' : 'udp4');
  return new Promise<SntpResult>((resolve, reject) => {
    const request = Buffer.alloc(packetBytes);
    request[0] = clientHeader;
    const t0 = now();
    writeTimestamp(request, 40, t0);
    const originate = request.subarray(40, 48);

    const settle = (outcome: SntpResult | SntpError) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (outcome instanceof SntpError) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        settle(
          new SntpError(
            `no answer from ${options.host}:${port} within ${options.timeoutMs} ms`,
            true,
          ),
        ),
      options.timeoutMs,
    );
    const onAbort = () => settle(new SntpError('aborted', true));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) =>
      settle(new SntpError(`${options.host}:${port}: ${error.message}`)),
    );
    socket.on('message', (reply) => {
      const t3 = now();
      if (reply.length < packetBytes || (reply[0]! & 0x07) !== serverMode) return;
      if (!reply.subarray(24, 32).equals(originate)) return;
      const stratum = reply[1]!;
      if (stratum === 0) {
        const code = reply.subarray(12, 16).toString('latin1');
        return settle(new SntpError(`${options.host} refused the request (kiss code ${code})`));
      }
      const t1 = readTimestamp(reply, 32);
      const t2 = readTimestamp(reply, 40);
      settle({ offsetMs: (t1 - t0 + (t2 - t3)) / 2, delayMs: t3 - t0 - (t2 - t1), stratum });
    });
    socket.send(request, port, options.host, (error) => {
      if (error) settle(new SntpError(`${options.host}:${port}: ${error.message}`));
    });
  });
}

/** Writes Unix ms as an NTP timestamp (seconds since 1900, 32-bit fraction) at `offset`. */
export function writeTimestamp(buffer: Buffer, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs % 1000) / 1000) * 2 ** 32);
  buffer.writeUInt32BE((seconds + ntpEpochOffsetSeconds) >>> 0, offset);
  buffer.writeUInt32BE(fraction >>> 0, offset + 4);
}

/** An NTP timestamp as Unix ms (era 0, which lasts until 2036; era 1 wraps the seconds). */
export function readTimestamp(buffer: Buffer, offset: number): number {
  let seconds = buffer.readUInt32BE(offset);
  // Era 1 starts 2036-02-07: small values there are past the wrap, not in 1900.
  if (seconds < 0x80000000) seconds += 2 ** 32;
  return (
    (seconds - ntpEpochOffsetSeconds) * 1000 + (buffer.readUInt32BE(offset + 4) / 2 ** 32) * 1000
  );
}
