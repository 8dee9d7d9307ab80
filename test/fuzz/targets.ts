// Every route of the route table (security/policy/route-actions.ts), as a fuzz target: how to
// fill its path, which query names it reads, and a valid body to mutate. A route added to the
// table without a target here fails the suite, so no endpoint goes unfuzzed.
import { routeRules, type RouteRule } from '../../src/security/policy/route-actions.js';
import type { Json } from './inputs.js';

export interface Target {
  method: RouteRule['method'] | 'HEAD';
  route: string;
  /** Query names the route reads (others must be refused or ignored, never crash it). */
  query: readonly string[];
  /** A valid body (routes that take one). */
  body?: Json;
  /**
   * Its cost grows with the audit log (every fuzzed request adds a record): it runs first in its
   * shard, so the long run's 10,000 cases do not each re-verify hundreds of thousands of records.
   */
  growsWithLog?: boolean;
}

const chatBody: Json = {
  messages: [{ role: 'user', content: 'hello there' }],
  temperature: 0.7,
};

/** The valid body and query names of each route that has them. */
const details: Record<string, Partial<Target>> = {
  'POST /console/session': { body: { token: 'asd_x_y' } },
  'POST /v1/chat': {
    body: { ...chatBody, max_tokens: 16, top_p: 0.9, stop: ['\n\n'], stream: false },
  },
  'POST /v1/chat/completions': {
    body: {
      model: 'gpt-4o-mini',
      ...chatBody,
      max_tokens: 16,
      stream: false,
      stream_options: { include_usage: true },
      seed: 1,
      metadata: { a: 'b' },
      // A tool round trip: the mutations reach every tool member and rule.
      messages: [
        { role: 'user', content: 'hello there' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: '42' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      response_format: { type: 'json_object' },
    },
  },
  'GET /v1/conversations': { query: ['limit', 'after', 'q'] },
  'GET /v1/conversations/:id': { query: ['limit', 'before'] },
  'PATCH /v1/conversations/:id': { body: { title: 'a new title' } },
  'POST /admin/policies/simulate': {
    body: {
      principal: 'dev@example.com',
      groups: ['dev'],
      action: 'get:chat',
      resource: '/v1/chat',
    },
  },
  'GET /admin/tokens': { query: ['limit', 'cursor', 'include_expired'] },
  'POST /admin/tokens': {
    body: { principal: 'fuzz@example.com', groups: ['dev'], ttl: '1h', admin: false },
  },
  'GET /admin/audit': { query: ['after', 'limit', 'principal', 'action', 'status'] },
  'GET /admin/audit/verify': { growsWithLog: true },
  'GET /admin/metrics/series': { query: ['series', 'range', 'step'] },
  'POST /admin/backups': { body: {} },
};

/** The current routes, each once, plus HEAD for every GET. */
export function targets(): Target[] {
  const current = routeRules.filter((rule) => rule.status === 'current');
  const list: Target[] = current.map((rule) => ({
    method: rule.method,
    route: rule.route,
    query: [],
    ...details[`${rule.method} ${rule.route}`],
  }));
  for (const rule of current.filter((entry) => entry.method === 'GET')) {
    list.push({
      method: 'HEAD',
      route: rule.route,
      query: details[`GET ${rule.route}`]?.query ?? [],
      ...(details[`GET ${rule.route}`]?.growsWithLog ? { growsWithLog: true } : {}),
    });
  }
  return list;
}
