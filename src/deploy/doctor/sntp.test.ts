import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { runChecks } from './runner.js';
import { ntpCheck, parseNtpServer } from './ntp-check.js';
import { queryNtp, readTimestamp, SntpError, writeTimestamp } from './sntp.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

/**
 * An SNTP server on a random loopback UDP port whose clock runs `offsetMs` ahead of this one.
 * `answer: false` receives and never answers; `wrongOrigin` answers with another origin time.
 */
async function ntpServer(
  options: { offsetMs?: number; answer?: boolean; wrongOrigin?: boolean; stratum?: number } = {},
): Promise<number> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.on('message', (request, peer) => {
    if (options.answer === false) return;
    const received = Date.now() + (options.offsetMs ?? 0);
    const reply = Buffer.alloc(48);
    reply[0] = (0 << 6) | (4 << 3) | 4; // version 4, mode 4 (server)
    reply[1] = options.stratum ?? 2;
    if (options.stratum === 0) reply.write('RATE', 12, 'latin1');
    if (options.wrongOrigin === true) writeTimestamp(reply, 24, Date.now() - 60_000);
    else request.copy(reply, 24, 40, 48); // origin = the client's transmit time
    writeTimestamp(reply, 32, received);
    writeTimestamp(reply, 40, Date.now() + (options.offsetMs ?? 0));
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

describe('SNTP', () => {
  it('measures a clock 5 s behind the server', async () => {
    const port = await ntpServer({ offsetMs: 5_000 });
    const result = await queryNtp({ host: '127.0.0.1', port, timeoutMs: 2_000 });
    expect(result.offsetMs).toBeGreaterThan(4_950);
    expect(result.offsetMs).toBeLessThan(5_050);
    expect(result.delayMs).toBeGreaterThanOrEqual(-1);
    expect(result.stratum).toBe(2);
  });

  it('times out on a server that never answers, and ignores answers to another request', async () => {
    for (const port of [
      await ntpServer({ answer: false }),
      await ntpServer({ wrongOrigin: true }),
    ]) {
      const started = performance.now();
      const error = await queryNtp({ host: '127.0.0.1', port, timeoutMs: 300 }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(SntpError);
      expect((error as SntpError).timedOut).toBe(true);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });

  it('reports a kiss-o-death answer', async () => {
    const port = await ntpServer({ stratum: 0 });
    await expect(queryNtp({ host: '127.0.0.1', port, timeoutMs: 1_000 })).rejects.toThrow(
      'kiss code RATE',
    );
  });

  it('writes and reads NTP timestamps, across the 2036 era wrap', () => {
    const buffer = Buffer.alloc(8);
    for (const ms of [Date.UTC(2025, 0, 1, 12, 0, 0, 250), Date.UTC(2040, 5, 1)]) {
      writeTimestamp(buffer, 0, ms);
      expect(Math.abs(readTimestamp(buffer, 0) - ms)).toBeLessThan(0.001);
    }
  });

  it('parses host, host:port and bracketed IPv6', () => {
    expect(parseNtpServer('pool.ntp.org')).toEqual({ host: 'pool.ntp.org', port: 123 });
    expect(parseNtpServer('10.0.0.1:1123')).toEqual({ host: '10.0.0.1', port: 1123 });
    expect(parseNtpServer('[::1]:1123')).toEqual({ host: '::1', port: 1123 });
    expect(parseNtpServer('[fe80::1]')).toEqual({ host: 'fe80::1', port: 123 });
  });
});

describe('the clock check', () => {
  it('warns at +5 s (over 1 s, within the 30 s JWT tolerance) and fails beyond the tolerance', async () => {
    const port = await ntpServer({ offsetMs: 5_000 });
    const [warned] = await runChecks([ntpCheck(`127.0.0.1:${port}`, 30)]);
    expect(warned!.status).toBe('warn');
    const offset = Number(/offset ([+-][\d.]+) s/.exec(warned!.detail)?.[1]);
    expect(offset).toBeCloseTo(5, 1);
    const [failed] = await runChecks([ntpCheck(`127.0.0.1:${port}`, 3)]);
    expect(failed).toMatchObject({ status: 'fail', detail: expect.stringContaining('3 s JWT') });
  });

  it('passes a synced clock, fails without an answer, skips without a server', async () => {
    const [synced] = await runChecks([ntpCheck(`127.0.0.1:${await ntpServer()}`, 30)]);
    expect(synced!.status).toBe('pass');
    const silent = await ntpServer({ answer: false });
    const started = performance.now();
    const [timedOut] = await runChecks([ntpCheck(`127.0.0.1:${silent}`, 30)], { timeoutMs: 300 });
    expect(timedOut).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('within 300 ms'),
    });
    expect(performance.now() - started).toBeLessThan(1_000);
    const [skipped] = await runChecks([ntpCheck(undefined, 30)]);
    expect(skipped).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('ntp_server'),
    });
  });
});
