// The part of jose this project uses, named one by one, for the same reason and in the same way as
// zod.ts: jose's index loads every JOSE feature (JWE, JWKS fetching, key generation, …), and
// `npm run build` bundles this file's output with esbuild down to what is named here (40 KB;
// 7 MB less resident memory in a bare Node.js process). Tests and `tsx` run it on jose itself.
export {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  exportJWK,
  jwtVerify,
  SignJWT,
} from 'jose';
export type { JWK, JWTPayload } from 'jose';
