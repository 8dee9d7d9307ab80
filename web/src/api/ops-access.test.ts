import { describe, expect, it } from 'vitest';
import { errorFromBody } from './api-error';
import type { ApiClient, RequestOptions } from './client';
import { accessFromStatus, allowedSections, probeOpsAccess, probes } from './ops-access';

interface Seen {
  path: string;
  options: RequestOptions | undefined;
}

/** A client answering each path with the given status (200 resolves, others reject). */
function clientWith(statuses: Record<string, number>, seen: Seen[] = []): ApiClient {
  return {
    async request(path, options) {
      seen.push({ path, options });
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

  it('probes each section on its own: metrics off still leaves the others', async () => {
    const seen: Seen[] = [];
    const access = await probeOpsAccess(
      clientWith(
        {
          [probes.charts.path]: 404,
          [probes.alerts.path]: 200,
          [probes.audit.path]: 200,
          [probes.keys.path]: 200,
          [probes.tokens.path]: 200,
          [probes.backups.path]: 404,
          [probes.simulator.path]: 200,
        },
        seen,
      ),
    );
    expect(access).toEqual({
      charts: 'disabled',
      alerts: 'allowed',
      audit: 'allowed',
      keys: 'allowed',
      tokens: 'allowed',
      backups: 'disabled',
      simulator: 'allowed',
    });
    expect(allowedSections(access)).toEqual(['alerts', 'audit', 'keys', 'tokens', 'simulator']);
    expect(seen.map((call) => call.path).sort()).toEqual(
      Object.values(probes)
        .map((probe) => probe.path)
        .sort(),
    );
  });

  it('probes keys, tokens and backups with a GET and the simulator with a harmless POST', async () => {
    const seen: Seen[] = [];
    await probeOpsAccess(clientWith({}, seen));
    for (const path of ['/admin/keys', '/admin/tokens?limit=1', '/admin/backups']) {
      const call = seen.find((entry) => entry.path === path);
      expect(call, path).toBeDefined();
      expect(call?.options?.method ?? 'GET', path).toBe('GET');
    }
    const simulator = seen.find((call) => call.path === '/admin/policies/simulate');
    expect(simulator?.options).toEqual({
      method: 'POST',
      body: { principal: 'probe', action: 'probe:probe', resource: '/probe' },
    });
  });

  it('hides a section its probe refuses, leaving the rest', async () => {
    const access = await probeOpsAccess(
      clientWith({
        [probes.charts.path]: 200,
        [probes.alerts.path]: 200,
        [probes.audit.path]: 200,
        [probes.keys.path]: 403,
        [probes.tokens.path]: 403,
        [probes.backups.path]: 503,
        [probes.simulator.path]: 403,
      }),
    );
    expect(access.keys).toBe('denied');
    expect(access.tokens).toBe('denied');
    expect(access.backups).toBe('failed');
    expect(access.simulator).toBe('denied');
    expect(allowedSections(access)).toEqual(['charts', 'alerts', 'audit']);
  });

  it('shows nothing to a principal whose policies refuse everything', async () => {
    const access = await probeOpsAccess(
      clientWith(Object.fromEntries(Object.values(probes).map((probe) => [probe.path, 403]))),
    );
    expect(allowedSections(access)).toEqual([]);
  });
});
