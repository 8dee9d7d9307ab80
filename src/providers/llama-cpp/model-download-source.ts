import { ModelDownloadError } from './model-download-errors.js';

/** The URL to download, parsed once: credentials moved out of it into `authorization`. */
export interface Source {
  /** Without credentials or fragment. */
  url: URL;
  /** For messages: no credentials, and no query string (it may hold a signature). */
  label: string;
  authorization: string | undefined;
}

/** Checks an http(s) URL; `user:password@` becomes Basic auth unless `authorization` is given. */
export function parseSource(text: string, authorization: string | undefined): Source {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ModelDownloadError('usage', `${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelDownloadError(
      'usage',
      `only http and https URLs can be downloaded, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    const user = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
    authorization ??= `Basic ${Buffer.from(user).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  const label = `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
  return { url, label, authorization };
}

/** The URL's last path segment, decoded, with separators and control characters replaced. */
export function nameFromUrl(source: Source): string {
  const segment = safeDecode(source.url.pathname.split('/').pop() ?? '');
  const name = [...segment]
    .map((char) => (char === '/' || char === '\\' || char.charCodeAt(0) < 32 ? '_' : char))
    .join('')
    .replace(/^\.+/, '');
  if (!isModelName(name)) {
    throw new ModelDownloadError(
      'usage',
      `${source.label} does not end in a .gguf file name; give one with --name FILE.gguf`,
    );
  }
  return name;
}

/** A `--name` the user gave: a plain file name (no folder, not hidden) ending in `.gguf`. */
export function checkName(name: string): string {
  const plain = [...name].every(
    (char) => char !== '/' && char !== '\\' && char.charCodeAt(0) >= 32,
  );
  if (!plain || name.startsWith('.') || !isModelName(name)) {
    throw new ModelDownloadError(
      'usage',
      `the file name must be a plain name ending in .gguf, not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function isModelName(name: string): boolean {
  // Room for the ".part.json" suffix within the usual 255-byte limit.
  return /.\.gguf$/i.test(name) && Buffer.byteLength(name) <= 240;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
