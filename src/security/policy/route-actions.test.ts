import { describe, expect, it } from 'vitest';
import { mixedYaml, seedYaml } from './__fixtures__/policies.js';
import { defaultPolicies } from './default-policy.js';
import { parsePolicyText } from './document.js';
import { compilePolicies, type CompiledPolicies } from './evaluate.js';
import {
  actionFor,
  knownObjects,
  resourceTemplate,
  routeRules,
  routeTableMarkdown,
  verbs,
  type RouteRule,
} from './route-actions.js';

describe('actionFor', () => {
  it.each([
    ['GET', '/health', {}, 'get:health', '/health', true],
    ['GET', '/ready', {}, 'get:readiness', '/ready', true],
    ['POST', '/v1/chat', {}, 'create:chat', '/v1/chat', false],
    ['POST', '/v1/chat/completions', {}, 'create:completion', '/v1/chat/completions', false],
    ['GET', '/v1/models', {}, 'list:model', '/v1/models', false],
    ['HEAD', '/v1/models', {}, 'list:model', '/v1/models', false],
    ['GET', '/v1/conversations', {}, 'list:conversation', '/v1/conversations', false],
    [
      'GET',
      '/v1/conversations/:id',
      { id: 'conv_1' },
      'get:conversation',
      '/v1/conversations/conv_1',
      false,
    ],
    [
      'patch',
      '/v1/conversations/:id',
      { id: 'conv_1' },
      'update:conversation',
      '/v1/conversations/conv_1',
      false,
    ],
    [
      'DELETE',
      '/v1/conversations/:id',
      { id: 'a/b c' },
      'delete:conversation',
      '/v1/conversations/a%2Fb%20c',
      false,
    ],
    ['DELETE', '/admin/tokens/:id', { id: 'tok_1' }, 'delete:token', '/admin/tokens/tok_1', false],
    ['GET', '/metrics', {}, 'get:metrics', '/metrics', false],
  ] as const)('%s %s → %s', (method, route, params, action, resource, isPublic) => {
    expect(actionFor(method, route, params)).toEqual({ action, resource, public: isPublic });
  });

  it('knows nothing about unknown routes, methods or missing parameters (the caller denies)', () => {
    expect(actionFor('GET', '/v1/nope')).toBeUndefined();
    expect(actionFor('PUT', '/v1/chat')).toBeUndefined();
    expect(actionFor('GET', '/v1/conversations/:id')).toBeUndefined();
    expect(actionFor('GET', '/v1/conversations/:id', { id: '' })).toBeUndefined();
    expect(actionFor('GET', '/v1/conversations/:id', { id: 7 })).toBeUndefined();
  });

  it('uses only the five verbs, lower case, one rule per method and route', () => {
    const keys = new Set<string>();
    for (const entry of routeRules) {
      const [verb, object] = entry.action.split(':');
      expect(verbs).toContain(verb);
      expect(object).toMatch(/^[a-z-]+$/);
      keys.add(`${entry.method} ${entry.route}`);
    }
    expect(keys.size).toBe(routeRules.length);
    expect(knownObjects.has('conversation')).toBe(true);
  });

  it('lists every route in the Markdown table', () => {
    const table = routeTableMarkdown();
    for (const entry of routeRules) {
      expect(table).toContain(`\`${entry.route}\``);
      if (!entry.public) expect(table).toContain(`\`${entry.action}\``);
    }
    expect(resourceTemplate('/v1/conversations/:id')).toBe('/v1/conversations/<id>');
    expect(table.split('\n')).toHaveLength(routeRules.length + 2);
  });
});

/** Whether `subject` may call each current route, through the table and the policies. */
function access(policies: CompiledPolicies, subject: string, groups: string[] = []) {
  const result: Record<string, boolean> = {};
  for (const entry of routeRules) {
    if (entry.public || entry.status === 'planned') continue;
    const target = actionFor(entry.method, entry.route, { id: 'conv_1' })!;
    const decision = policies.evaluate({ principal: { subject, groups }, ...target });
    result[`${entry.method} ${entry.route}`] = decision.allowed;
  }
  return result;
}

describe('the seed policies through the route table', () => {
  const seed = compilePolicies(parsePolicyText(seedYaml, 'seed.yaml'));

  it('admin@example.com may call every route, planned admin routes included', () => {
    for (const entry of routeRules) {
      const target = actionFor(entry.method, entry.route, { id: 'x', kid: 'k' })!;
      const decision = seed.evaluate({
        principal: { subject: 'admin@example.com', groups: [] },
        ...target,
      });
      expect(decision.allowed, `${entry.method} ${entry.route}`).toBe(true);
    }
  });

  it('dev@example.com may read /v1/chat but POST /v1/chat is denied (403) and no write is allowed', () => {
    const dev = { subject: 'dev@example.com', groups: [] };
    expect(
      seed.evaluate({ principal: dev, action: 'get:chat', resource: '/v1/chat' }).allowed,
    ).toBe(true);
    expect(seed.evaluate({ principal: dev, ...actionFor('POST', '/v1/chat')! }).reason).toBe(
      'default-deny',
    );
    // The seed names only the resource /v1/chat, so no current route is readable by dev: the
    // statement is read-only in verbs, and narrow in resources. Nothing that writes is allowed.
    expect(Object.values(access(seed, 'dev@example.com')).some(Boolean)).toBe(false);
  });

  it('with resources widened to /v1/*, dev reads everything under /v1 and still cannot POST', () => {
    const widened = compilePolicies(
      parsePolicyText(
        seedYaml.replace('resources: ["/v1/chat"]', 'resources: ["/v1/*"]'),
        'w.yaml',
      ),
    );
    expect(access(widened, 'dev@example.com')).toEqual({
      'POST /v1/chat': false,
      'POST /v1/chat/completions': false,
      'GET /v1/models': true,
      'GET /v1/conversations': true,
      'GET /v1/conversations/:id': true,
      'PATCH /v1/conversations/:id': false,
      'DELETE /v1/conversations/:id': false,
      'GET /admin/keys': false,
      'GET /admin/tokens': false,
      'POST /admin/tokens': false,
      'DELETE /admin/tokens/:id': false,
      'POST /admin/policies/simulate': false,
      'GET /admin/audit': false,
      'GET /admin/audit/verify': false,
      'GET /admin/metrics/series': false,
      'GET /metrics': false,
      'GET /admin/backups': false,
      'POST /admin/backups': false,
      'GET /admin/alerts': false,
    });
  });

  it('the built-in default lets anyone use every current route, and only admins the admin ones', () => {
    const adminOnly = (rule: RouteRule) =>
      rule.status === 'planned' || rule.route.startsWith('/admin/') || rule.route === '/metrics';
    const open = Object.entries(access(defaultPolicies(), 'someone')).filter(
      ([route]) => !route.includes(' /admin/') && route !== 'GET /metrics',
    );
    expect(open.every(([, allowed]) => allowed)).toBe(true);
    for (const entry of routeRules.filter(adminOnly)) {
      const target = actionFor(entry.method, entry.route, { id: 'x', kid: 'k' })!;
      const user = defaultPolicies().evaluate({
        principal: { subject: 'u', groups: [] },
        ...target,
      });
      const admin = defaultPolicies().evaluate({
        principal: { subject: 'u', groups: ['admin'] },
        ...target,
      });
      expect([user.allowed, admin.allowed], entry.route).toEqual([false, true]);
    }
  });

  it('a contractor in the mixed policies is denied chat explicitly', () => {
    const mixed = compilePolicies(parsePolicyText(mixedYaml, 'mixed.yaml'));
    expect(access(mixed, 'c@example.com', ['contractors'])['POST /v1/chat']).toBe(false);
    expect(access(mixed, 'c@example.com')['POST /v1/chat']).toBe(true);
  });
});
