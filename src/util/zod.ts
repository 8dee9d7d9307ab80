// The part of zod 4 this project uses, named one by one. Modules import it as
// `import * as z from '…/util/zod.js'` and write `z.string()` as with zod's own `z`.
//
// Why not `import { z } from 'zod'`: every zod entry point loads all of its ~50 message locales
// and its JSON Schema tools, which a server answering in English never uses (9 MB of resident
// memory in a bare Node.js process, a few MB in the server). `npm run build` bundles this file's
// output with esbuild (tree-shaken: only what is named here, with zod's default English
// messages), so `dist/` loads one small module instead of zod's hundred; tests and `tsx` run it
// unbundled, on zod itself. A member missing here is a type error where it is used: add it to
// the list.
export {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  enum,
  int,
  literal,
  looseObject,
  NEVER,
  null,
  number,
  object,
  prettifyError,
  record,
  strictObject,
  string,
  union,
  unknown,
  url,
} from 'zod';
export type { core, infer, input, output, RefinementCtx, ZodType } from 'zod';
