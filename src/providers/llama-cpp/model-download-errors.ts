/**
 * What went wrong: `usage` (bad URL, name or option; blocked host), `exists` (final file there),
 * `http` (an error status, in `status`), `network` (refused, reset, timed out), `disk`,
 * `integrity` (SHA-256 mismatch), `not-a-model`, `aborted`.
 */
export type DownloadFailure =
  'usage' | 'exists' | 'http' | 'network' | 'disk' | 'integrity' | 'not-a-model' | 'aborted';

/** A failed download; the message is one line naming the URL or file and the problem. */
export class ModelDownloadError extends Error {
  constructor(
    readonly failure: DownloadFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

/** A file-system error as a one-line `disk` failure naming `path`; a ModelDownloadError passes. */
export function diskError(error: unknown, path: string): ModelDownloadError {
  if (error instanceof ModelDownloadError) return error;
  const code = errorCode(error) ?? (error as Error).message;
  return new ModelDownloadError('disk', `cannot write ${path} (${code})`);
}

/** The first string `code` on the error or its first two causes (undici wraps socket errors). */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; depth < 3; depth += 1) {
    const code = (current as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown } | undefined)?.cause;
  }
  return undefined;
}
