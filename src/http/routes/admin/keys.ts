import type { FastifyInstance } from 'fastify';
import type { KeyStatus, KeyView } from '../../../security/keyring.js';
import type { AppDeps } from '../../app.js';

/** One key as `GET /admin/keys` shows it: public facts only, times as ISO strings. */
export interface KeyJson {
  kid: string;
  source: 'generated' | 'imported';
  status: KeyStatus;
  created_at: string;
  /** Null for imported keys, which never sign. */
  signs_until: string | null;
  /** Null: verifies until retired by hand. */
  expires_at: string | null;
  retired_at: string | null;
}

const isoOrNull = (time: number | undefined): string | null =>
  time === undefined ? null : new Date(time).toISOString();

/** The keys newest first (by creation, then kid, so the order never depends on the store's). */
export function keyListJson(keys: readonly KeyView[]): KeyJson[] {
  return [...keys]
    .sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0))
    .map((key) => ({
      kid: key.kid,
      source: key.source,
      status: key.status,
      created_at: new Date(key.createdAt).toISOString(),
      signs_until: isoOrNull(key.signsUntil),
      expires_at: isoOrNull(key.expiresAt),
      retired_at: isoOrNull(key.retiredAt),
    }));
}

/**
 * `GET /admin/keys`: the signing keys as this server holds them (what `assistd keys list` shows;
 * keys rotated or imported from the CLI appear once the server rereads its keyring, at most 30 s
 * later) and `security.key_rotation_days`. `KeyView` carries no key material at all, so nothing
 * private can reach the body.
 */
export function keyRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/admin/keys', () => ({
    object: 'list',
    rotation_days: deps.config.security.key_rotation_days,
    data: keyListJson(deps.keyring.list()),
  }));
}
