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

/** JSON logs on stdout (or `destination`), written asynchronously off the request path. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'assistd' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
