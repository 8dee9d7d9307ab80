/** What a command may touch of the outside world; injected so commands run inside tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
};

/** A failure the user can fix; printed without a stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Rows as aligned columns (two spaces apart), one line each, for `… list` commands. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  return rows
    .map((row) => `${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd())
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * When the reader of stdout goes away (`assistd audit tail | head -1`), a write fails with
 * EPIPE, emitted on the stream: unhandled, that is a crash with a stack trace. A command then
 * stops quietly with its exit code so far; the server (`serving`) keeps running, its output lost.
 */
export function quietOnClosedStdout(serving: boolean): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (!serving) process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}
