import { CryptoError } from '../security/crypto/errors.js';
import { StoreUnavailableError } from '../storage/errors.js';

/** A failure of what assistd runs against, said in one line, with the exit code it gets. */
export interface EnvironmentFailure {
  message: string;
  exitCode: number;
}

/** Node's codes for a TLS certificate it does not trust. */
const tlsTrustCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

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
  const message = error instanceof Error ? error.message : '';
  if (message === 'The server does not support SSL connections') {
    return {
      message:
        'PostgreSQL does not accept TLS connections, and database.url asks for one (sslmode): ' +
        'enable TLS on the server or change sslmode',
      exitCode: 2,
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && tlsTrustCodes.has(code)) {
    return {
      message: `PostgreSQL's TLS certificate is not trusted (${message}); name its CA with sslrootcert in database.url`,
      exitCode: 2,
    };
  }
  const severity = (error as { severity?: unknown } | null)?.severity;
  if (typeof code === 'string' && typeof severity === 'string' && code in postgresRefusals) {
    return {
      message: `${postgresRefusals[code]!} (${(error as Error).message})`,
      exitCode: 2,
    };
  }
  return undefined;
}
