// What `npm run build` leaves in dist/ beyond tsc's output (the global setup ran it).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type * as Zod from '../../src/util/zod.js';

const bundle = new URL('../../dist/util/zod.js', import.meta.url);

it('bundles the zod the server uses into one module, with English messages only', async () => {
  const text = readFileSync(bundle, 'utf8');
  expect(text).not.toMatch(/\bfrom\s*["']zod/);
  expect(text).not.toMatch(/\bimport\s*\(/);
  // esbuild names each module it took in a comment.
  const locales = [...text.matchAll(/\/\/ node_modules\/zod\/v4\/locales\/([\w-]+)\.js/g)];
  expect(locales.map((match) => match[1])).toEqual(['en']);

  const z = (await import(bundle.href)) as typeof Zod;
  const result = z.strictObject({ port: z.int().min(1) }).safeParse({ port: 0, extra: true });
  expect(result.success).toBe(false);
  expect(z.prettifyError(result.error!)).toBe(
    '✖ Unrecognized key: "extra"\n✖ Too small: expected number to be >=1\n  → at port',
  );
});
