import { closeSync, openSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Tokens and keys are also kept out of log calls
 * in the first place; this is the second line of defence.
 */
export const redactedPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  // The console's session cookie holds a bearer token (http/session-cookie.ts).
  'cookie',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.cookie',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  'api_key',
  'apiKey',
  'token',
  '*.authorization',
  '*.api_key',
  '*.apiKey',
  '*.token',
];

/** Longest time a log line waits in the buffer, in milliseconds. */
const flushIntervalMs = 1000;

/**
 * Bytes of log lines that may wait for a slow output (a stdout pipe nobody drains fast enough, a
 * stalled disk); past it new lines are dropped and counted instead of the buffer growing with
 * traffic. 16 MiB hold some 50,000 request lines.
 */
export const maxBufferedLogBytes = 16 * 1024 * 1024;

let droppedLines = 0;

/** Log lines dropped since start because the output could not keep up (a Prometheus counter). */
export function droppedLogLines(): number {
  return droppedLines;
}

export interface LoggerOptions {
  /** Where lines go instead of stdout (tests). */
  destination?: DestinationStream;
  /** Append to this file instead of stdout (`log_file`); `reopenLogFile` reopens it. */
  file?: string | undefined;
  /**
   * Standard error instead of stdout (CLI commands: their stdout is their answer, such as the
   * token `tokens issue` prints, which a script captures with `$(…)`).
   */
  stderr?: boolean;
  /** Bytes waiting for the output at most (default `maxBufferedLogBytes`; tests lower it). */
  maxBufferedBytes?: number;
}

/** Files opened by `createLogger`, for `reopenLogFile` (SIGHUP). */
const reopenable = new Set<{ reopen(): void }>();

/**
 * JSON logs on stdout, a file or `destination`, written off the request path. Lines are batched
 * up to 4 KiB and flushed at least every second: one write per line cost about a fifth of a
 * gateway request's CPU. A crash can lose the last second of lines; shutdown flushes them.
 *
 * A log file is opened here first, synchronously, so a path that cannot be written is an error
 * at start rather than lines lost later.
 */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  let sink = options.destination;
  if (!sink) {
    if (options.file !== undefined) closeSync(openSync(options.file, 'a', 0o640));
    const stream = pino.destination({
      sync: false,
      minLength: 4096,
      maxLength: options.maxBufferedBytes ?? maxBufferedLogBytes,
      ...(options.file !== undefined
        ? { dest: options.file, append: true, mode: 0o640 }
        : options.stderr === true
          ? { dest: 2 }
          : {}),
    });
    // One write per line: each drop is one line lost.
    stream.on('drop', () => {
      droppedLines += 1;
    });
    setInterval(() => stream.flush(), flushIntervalMs).unref();
    if (options.file !== undefined) reopenable.add(stream);
    sink = stream;
  }
  return pino(
    {
      level,
      base: { service: 'assistd' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    sink,
  );
}

/**
 * Reopens every log file (SIGHUP): after logrotate moved `assistd.log` away, new lines go to a
 * new file at the configured path.
 */
export function reopenLogFiles(): void {
  for (const stream of reopenable) stream.reopen();
}
