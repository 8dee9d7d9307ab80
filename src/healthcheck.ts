// The container's HEALTHCHECK: exits 0 when GET /health answers 200 within the timeout, 1
// otherwise. A plain script with no imports from the app, so a check costs a few milliseconds of
// start-up rather than loading the whole CLI every 30 seconds.
//
// URL: ASSISTD_HEALTHCHECK_URL, else 127.0.0.1:$ASSISTD_PORT/health over HTTPS when
// ASSISTD_TLS_CERT_FILE is set and HTTP otherwise, then over the other one when the first cannot
// even connect (TLS may be configured in the config file, which this script does not read). The
// certificate of a loopback check is not verified: the check asks whether this process answers,
// and the certificate may name only the public host.
import { realpathSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pathToFileURL } from 'node:url';

const timeoutMs = 4000;

/** The URLs to try, in order. */
export function healthUrls(env: NodeJS.ProcessEnv): URL[] {
  if (env.ASSISTD_HEALTHCHECK_URL) return [new URL(env.ASSISTD_HEALTHCHECK_URL)];
  const schemes = env.ASSISTD_TLS_CERT_FILE ? ['https', 'http'] : ['http', 'https'];
  return schemes.map(
    (scheme) => new URL(`${scheme}://127.0.0.1:${env.ASSISTD_PORT ?? '18789'}/health`),
  );
}

/** True: 200. False: another status. Undefined: no HTTP answer at all. */
export function checkHealth(url: URL): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  const urls = healthUrls(process.env);
  let healthy: boolean | undefined;
  for (const url of urls) {
    healthy = await checkHealth(url);
    if (healthy !== undefined) break;
  }
  if (healthy !== true) {
    process.stderr.write(`assistd is not healthy at ${urls.map((url) => url.href).join(' or ')}\n`);
  }
  process.exitCode = healthy === true ? 0 : 1;
}
