// What a channel reports (SendResult.detail, errors, logs) must never carry its secrets: robot
// keys and tokens travel in URLs, and receivers like to echo the URL or key in their errors.
import { redactSecrets } from '../../util/redact-secrets.js';

/** Query parameters that carry secrets in robot and webhook URLs. */
const secretParameters = /^(key|access_token|token|sign|signature|secret|sig|apikey|api_key)$/i;

/**
 * `url` with its secret query parameters (`key`, `access_token`, `token`, `sign`, `signature`,
 * `secret`, `sig`, `apikey`, `api_key`) and any user info replaced by `***`, for answers and logs.
 * An unparseable URL gives a placeholder rather than itself.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return '(unparseable URL)';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameters.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/** `text` with every secret, or a run of 8 of its characters, replaced by `***` (`redactSecrets`). */
export function redact(text: string, secrets: readonly string[]): string {
  return redactSecrets(text, secrets, '***');
}
