import { ApiError } from './api-error';
import type { ApiClient } from './client';
import type { OpsSection } from '../route';

/**
 * What a probe learned about one Operations section: `allowed` (200), `denied` (403: the
 * principal's policies refuse it), `disabled` (404: metrics or alerting are off on this server),
 * `failed` (anything else: unreachable, 5xx).
 */
export type SectionAccess = 'allowed' | 'denied' | 'disabled' | 'failed';

export type OpsAccess = Record<OpsSection, SectionAccess>;

/**
 * The cheapest call each section's page makes. Policies, not the session's `admin` flag, decide
 * who may call them, so the console asks the server rather than guessing.
 */
export const probePaths: Record<OpsSection, string> = {
  charts: '/admin/metrics/series?series=requests_per_second:avg&range=5m',
  alerts: '/admin/alerts',
  audit: '/admin/audit?limit=1',
};

export function accessFromStatus(status: number): SectionAccess {
  if (status >= 200 && status < 300) return 'allowed';
  // A 401 ends the session (the client reports it); nothing is shown meanwhile.
  if (status === 401 || status === 403) return 'denied';
  if (status === 404) return 'disabled';
  return 'failed';
}

export async function probeSection(api: ApiClient, section: OpsSection): Promise<SectionAccess> {
  try {
    const response = await api.request(probePaths[section]);
    // The body is not needed; reading it lets the connection be reused.
    await response.arrayBuffer().catch(() => undefined);
    return 'allowed';
  } catch (error) {
    return accessFromStatus(error instanceof ApiError ? error.status : 0);
  }
}

export async function probeOpsAccess(api: ApiClient): Promise<OpsAccess> {
  const [charts, alerts, audit] = await Promise.all([
    probeSection(api, 'charts'),
    probeSection(api, 'alerts'),
    probeSection(api, 'audit'),
  ]);
  return { charts, alerts, audit };
}

/** The sections whose probe answered 200, in link order. */
export function allowedSections(access: OpsAccess): OpsSection[] {
  return (['charts', 'alerts', 'audit'] as const).filter(
    (section) => access[section] === 'allowed',
  );
}
