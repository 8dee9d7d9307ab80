import { ApiError } from './api-error';
import type { ApiClient, RequestOptions } from './client';
import { type OpsSection, opsSections } from '../route';

/**
 * What a probe learned about one Operations section: `allowed` (200), `denied` (403: the
 * principal's policies refuse it), `disabled` (404: metrics or alerting are off on this server),
 * `failed` (anything else: unreachable, 5xx).
 */
export type SectionAccess = 'allowed' | 'denied' | 'disabled' | 'failed';

export type OpsAccess = Record<OpsSection, SectionAccess>;

/** One probe: a path, and for a section with no cheap GET, the method and body. */
export interface Probe {
  path: string;
  method?: RequestOptions['method'];
  body?: unknown;
}

/**
 * The cheapest call each section's page makes. Policies, not the session's `admin` flag, decide
 * who may call them, so the console asks the server rather than guessing.
 */
export const probes: Record<OpsSection, Probe> = {
  charts: { path: '/admin/metrics/series?series=requests_per_second:avg&range=5m' },
  alerts: { path: '/admin/alerts' },
  audit: { path: '/admin/audit?limit=1' },
  keys: { path: '/admin/keys' },
  tokens: { path: '/admin/tokens?limit=1' },
  backups: { path: '/admin/backups' },
  // The simulator has no GET: the probe simulates a request nobody makes. It performs nothing,
  // but the server audits every simulation, so each console load writes one audit record for
  // it (from a principal allowed to simulate). That is accepted as the price of asking.
  simulator: {
    path: '/admin/policies/simulate',
    method: 'POST',
    body: { principal: 'probe', action: 'probe:probe', resource: '/probe' },
  },
};

export function accessFromStatus(status: number): SectionAccess {
  if (status >= 200 && status < 300) return 'allowed';
  // A 401 ends the session (the client reports it); nothing is shown meanwhile.
  if (status === 401 || status === 403) return 'denied';
  if (status === 404) return 'disabled';
  return 'failed';
}

export async function probeSection(api: ApiClient, section: OpsSection): Promise<SectionAccess> {
  const { path, method, body } = probes[section];
  try {
    const response = await api.request(path, method === undefined ? undefined : { method, body });
    // The body is not needed; reading it lets the connection be reused.
    await response.arrayBuffer().catch(() => undefined);
    return 'allowed';
  } catch (error) {
    return accessFromStatus(error instanceof ApiError ? error.status : 0);
  }
}

/** Every section probed at once, each on its own: one refused or failing leaves the others. */
export async function probeOpsAccess(api: ApiClient): Promise<OpsAccess> {
  const results = await Promise.all(opsSections.map((section) => probeSection(api, section)));
  const access = {} as OpsAccess;
  opsSections.forEach((section, index) => {
    access[section] = results[index] ?? 'failed';
  });
  return access;
}

/** The sections whose probe answered 200, in link order. */
export function allowedSections(access: OpsAccess): OpsSection[] {
  return opsSections.filter((section) => access[section] === 'allowed');
}
