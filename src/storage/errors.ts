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
