/**
 * The database cannot be reached or stopped answering (connection refused or lost, server
 * shutting down, pool exhausted past its wait). HTTP answers 503 `store_unavailable`; the store
 * keeps trying on later calls, so service returns without a restart when the database does.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Text the database cannot hold or compare, given by the client: PostgreSQL refuses a NUL
 * character (SQLSTATE 22021) in any text, an id or a filter included. HTTP answers 400.
 */
export class UnstorableTextError extends Error {
  override readonly name = 'UnstorableTextError';
}
