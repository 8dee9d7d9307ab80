import { CryptoError } from '../security/crypto/errors.js';
import { StoreUnavailableError } from '../storage/errors.js';

/** A failure of what assistd runs against, said in one line, with the exit code it gets. */
export interface EnvironmentFailure {
  message: string;
  exitCode: number;
}

/** PostgreSQL's refusals a setting fixes: SQLSTATE → what to check. */
const postgresRefusals: Record<string, string> = {
  '28P01':
    'PostgreSQL refused the password; check database.url (ASSISTD_DATABASE_URL) or PGPASSWORD',
  '28000': 'PostgreSQL refused the login; check the user in database.url (ASSISTD_DATABASE_URL)',
  '3D000': 'PostgreSQL has no such database; check database.url (ASSISTD_DATABASE_URL)',
  '42501':
    'PostgreSQL refused: the database user lacks a privilege assistd needs (creating its schema and tables)',
};

/**
 * The failures that are not faults of assistd itself, so "unexpected error" would mislead: the
 * database unreachable or refusing, the master key missing, malformed, unreadable or wrong.
 * Undefined for anything else.
 */
export function environmentFailure(error: unknown): EnvironmentFailure | undefined {
  if (error instanceof CryptoError) {
    // Every CryptoError message names the file and what to do (crypto/errors.ts).
    return { message: error.message, exitCode: 2 };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      message: `${error.message}; check database.url (ASSISTD_DATABASE_URL) and that PostgreSQL runs and is reachable`,
      exitCode: 1,
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  const severity = (error as { severity?: unknown } | null)?.severity;
  if (typeof code === 'string' && typeof severity === 'string' && code in postgresRefusals) {
    return {
      message: `${postgresRefusals[code]!} (${(error as Error).message})`,
      exitCode: 2,
    };
  }
  return undefined;
}
