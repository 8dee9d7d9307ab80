// What `npm run build` leaves in dist/ beyond tsc's output (the global setup ran it): zod and
// jose bundled, each into the one module that names what the server uses.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type * as Jose from '../../src/util/jose.js';
import type * as Zod from '../../src/util/zod.js';

/**
 * The bundle `dist/util/NAME.js` and its text, once checked to import nothing: the package it
 * bundles is inside, not imported, and nothing is loaded later.
 */
function bundleOf(name: 'zod' | 'jose'): { url: URL; text: string } {
  const url = new URL(`../../dist/util/${name}.js`, import.meta.url);
  const text = readFileSync(url, 'utf8');
  expect(text).not.toMatch(new RegExp(`\\bfrom\\s*["']${name}`));
  expect(text).not.toMatch(/\bimport\s*\(/);
  return { url, text };
}

it('bundles the zod the server uses into one module, with English messages only', async () => {
  const { url, text } = bundleOf('zod');
  // esbuild names each module it took in a comment.
  const locales = [...text.matchAll(/\/\/ node_modules\/zod\/v4\/locales\/([\w-]+)\.js/g)];
  expect(locales.map((match) => match[1])).toEqual(['en']);

  const z = (await import(url.href)) as typeof Zod;
  const result = z.strictObject({ port: z.int().min(1) }).safeParse({ port: 0, extra: true });
  expect(result.success).toBe(false);
  expect(z.prettifyError(result.error!)).toBe(
    '✖ Unrecognized key: "extra"\n✖ Too small: expected number to be >=1\n  → at port',
  );
});

it('bundles the jose the server uses into one module that still verifies RS256 tokens', async () => {
  const { url, text } = bundleOf('jose');
  // Encryption (JWE) is not used, so not taken in.
  expect(text).not.toMatch(/\/\/ node_modules\/jose\/dist\/[\w/]*jwe\//);

  const jose = (await import(url.href)) as typeof Jose;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = await new jose.SignJWT({ groups: ['admin'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('ops@example.com')
    .setExpirationTime('5m')
    .sign(privateKey);
  expect(jose.decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: 'k1' });
  const { payload } = await jose.jwtVerify(token, publicKey, { algorithms: ['RS256'] });
  expect(payload.sub).toBe('ops@example.com');
  await expect(jose.jwtVerify(token, publicKey, { algorithms: ['ES256'] })).rejects.toBeInstanceOf(
    jose.errors.JOSEAlgNotAllowed,
  );
});
