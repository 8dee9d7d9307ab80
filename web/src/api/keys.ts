import type { ApiClient } from './client';

/** `active`, `verifying-only`, `retired` (src/security/keyring.ts); a newer server may add more. */
export type KeyStatus = string;

/** One signing key as `GET /admin/keys` shows it; times are ISO 8601. */
export interface SigningKeyView {
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

/** `GET /admin/keys`: the keys, newest first, and the configured rotation period. */
export interface SigningKeyList {
  object: 'list';
  rotation_days: number;
  data: SigningKeyView[];
}

export async function fetchKeys(api: ApiClient, signal?: AbortSignal): Promise<SigningKeyList> {
  const body = (await api.json('/admin/keys', { signal })) as SigningKeyList;
  return { ...body, data: Array.isArray(body.data) ? body.data : [] };
}
