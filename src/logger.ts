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
 * JSON logs on stdout (or `destination`), written off the request path. Lines are batched up to
 * 4 KiB and flushed at least every second: one write per line cost about a fifth of a gateway
 * request's CPU. A crash can lose the last second of lines; shutdown flushes them.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  let sink = destination;
  if (!sink) {
    const stdout = pino.destination({ sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), flushIntervalMs).unref();
    sink = stdout;
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
