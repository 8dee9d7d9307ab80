import { readFileSync } from 'node:fs';

let version: string | undefined;

/**
 * The version in assistd's package.json: the default image tag, so `deploy render` run from a
 * release renders that release's image. Read at run time (three folders up from this file, in
 * src/ and in dist/ alike) because package.json lies outside the compiled tree; the image ships
 * it at /opt/assistant/package.json.
 */
export function packageVersion(): string {
  if (version === undefined) {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const parsed = JSON.parse(text) as { version?: unknown };
    if (typeof parsed.version !== 'string') throw new Error('package.json has no version');
    version = parsed.version;
  }
  return version;
}
