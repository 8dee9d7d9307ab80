import { describe, expect, it } from 'vitest';
import { errorFromBody } from './api-error';
import type { ApiClient } from './client';
import { accessFromStatus, allowedSections, probeOpsAccess, probePaths } from './ops-access';

/** A client answering each path with the given status (200 resolves, others reject). */
function clientWith(statuses: Record<string, number>, seen: string[] = []): ApiClient {
  return {
    async request(path) {
      seen.push(path);
      const status = statuses[path] ?? 500;
      if (status === 200) return new Response('{}');
      throw errorFromBody({ error: { message: 'no', code: 'x' } }, status);
    },
    async json() {
      throw new Error('not used');
    },
    csrfToken: () => 'csrf',
  };
}

describe('ops access', () => {
  it('maps statuses', () => {
    expect(accessFromStatus(200)).toBe('allowed');
    expect(accessFromStatus(403)).toBe('denied');
    expect(accessFromStatus(401)).toBe('denied');
    expect(accessFromStatus(404)).toBe('disabled');
    expect(accessFromStatus(0)).toBe('failed');
    expect(accessFromStatus(503)).toBe('failed');
  });

  it('probes each section on its own: metrics off still leaves alerts and audit', async () => {
    const seen: string[] = [];
    const access = await probeOpsAccess(
      clientWith(
        { [probePaths.charts]: 404, [probePaths.alerts]: 200, [probePaths.audit]: 200 },
        seen,
      ),
    );
    expect(access).toEqual({ charts: 'disabled', alerts: 'allowed', audit: 'allowed' });
    expect(allowedSections(access)).toEqual(['alerts', 'audit']);
    expect(seen.sort()).toEqual(Object.values(probePaths).sort());
  });

  it('shows nothing to a principal whose policies refuse everything', async () => {
    const access = await probeOpsAccess(
      clientWith({ [probePaths.charts]: 403, [probePaths.alerts]: 403, [probePaths.audit]: 403 }),
    );
    expect(allowedSections(access)).toEqual([]);
  });
});
