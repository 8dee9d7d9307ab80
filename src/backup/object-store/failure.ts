/** Network failures of a store that cannot be reached (Node's errno codes). */
const unreachable = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** What S3 answers for credentials it does not accept. */
const refusedCredentials = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
]);

/**
 * One line for an object store that failed the way an operator fixes outside assistd (not
 * reachable, credentials refused, no such bucket, a folder that cannot be written), or undefined
 * for anything else (a fault of assistd, reported as one).
 */
export function objectStoreFailure(error: unknown): string | undefined {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return objectStoreFailure(error.errors[0]);
  }
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && unreachable.has(code)) {
    return `the object store cannot be reached (${code}: ${error.message})`;
  }
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata !== undefined) {
    const status =
      metadata.httpStatusCode === undefined ? '' : ` (HTTP ${metadata.httpStatusCode})`;
    if (refusedCredentials.has(error.name)) {
      return (
        `the object store refused the credentials: ${error.name}${status}; check ` +
        'object_store.s3.access_key_id and secret_access_key_file'
      );
    }
    if (error.name === 'NoSuchBucket') {
      return `the bucket does not exist${status}; check object_store.s3.bucket`;
    }
    return `the object store answered ${error.name}${status}: ${error.message}`;
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC') {
    return `the object store folder cannot be written (${code}: ${error.message})`;
  }
  return undefined;
}
