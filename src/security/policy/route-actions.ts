/**
 * Which policy action and resource each HTTP route is. Actions are `verb:object`, verb first, so a
 * policy can grant by kind of access (`get:*` and `list:*` read everything it names, `create:*`
 * writes) or by object (`*:conversation`). Verbs:
 *
 * | verb   | HTTP                                  |
 * | ------ | ------------------------------------- |
 * | get    | GET of one thing; a POST that only computes an answer (a policy simulation) |
 * | list   | GET of a collection                   |
 * | create | POST that makes something (a chat turn, a completion, a token, a backup) |
 * | update | PATCH / PUT                           |
 * | delete | DELETE                                |
 *
 * Resources are the request path with route parameters filled in, percent-encoded so that an id
 * can never add a `/` segment. Matching is on the text: nothing is normalised, so `..` is just two
 * characters of an id.
 */

export const verbs = ['get', 'list', 'create', 'update', 'delete'] as const;
export type Verb = (typeof verbs)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One row of the table. */
export interface RouteRule {
  method: HttpMethod;
  /** The route as registered with Fastify, e.g. `/v1/conversations/:id`. */
  route: string;
  /** `verb:object`, lower case. */
  action: `${Verb}:${string}`;
  /**
   * Served without a bearer token, so without a policy check: health, readiness, the JWKS, the
   * console's files, and its session routes (which check the token or cookie themselves).
   */
  public: boolean;
  /** `planned`: the route does not exist yet; its action is reserved so policies can name it. */
  status: 'current' | 'planned';
  summary: string;
}

function rule(
  method: HttpMethod,
  route: string,
  action: RouteRule['action'],
  summary: string,
  extra: Partial<Pick<RouteRule, 'public' | 'status'>> = {},
): RouteRule {
  return { method, route, action, summary, public: false, status: 'current', ...extra };
}

const planned = { status: 'planned' } as const;
const open = { public: true } as const;

/** Every route the server has or will have, in README order. */
export const routeRules: readonly RouteRule[] = [
  rule('GET', '/health', 'get:health', 'liveness', { public: true }),
  rule('GET', '/ready', 'get:readiness', 'readiness', { public: true }),
  rule('GET', '/.well-known/jwks.json', 'get:jwks', 'public keys that verify tokens', {
    public: true,
  }),
  rule('GET', '/', 'get:console', "the web console's page", open),
  rule('GET', '/console/assets/*', 'get:console-asset', "the console's scripts and images", open),
  rule('GET', '/favicon.ico', 'get:console-asset', "the console's icon", open),
  // Public in the sense above, but audited: the handlers check the token or cookie themselves.
  rule('POST', '/console/session', 'create:console-session', 'sign in: token → cookie', open),
  rule('GET', '/console/session', 'get:console-session', "the cookie's principal", open),
  rule('DELETE', '/console/session', 'delete:console-session', 'sign out', open),
  rule('POST', '/v1/chat', 'create:chat', 'one chat turn (stored conversation)'),
  rule('POST', '/v1/chat/completions', 'create:completion', 'OpenAI-compatible completion'),
  rule('GET', '/v1/models', 'list:model', 'models'),
  rule('GET', '/v1/conversations', 'list:conversation', "the caller's conversations"),
  rule('GET', '/v1/conversations/:id', 'get:conversation', 'one conversation with its messages'),
  rule('PATCH', '/v1/conversations/:id', 'update:conversation', 'rename a conversation'),
  rule('DELETE', '/v1/conversations/:id', 'delete:conversation', 'delete a conversation'),
  rule('GET', '/admin/keys', 'list:key', 'signing keys'),
  rule('POST', '/admin/keys', 'create:key', 'generate or rotate a signing key', planned),
  rule('DELETE', '/admin/keys/:kid', 'delete:key', 'retire a signing key', planned),
  rule('GET', '/admin/tokens', 'list:token', 'bearer tokens issued here'),
  rule('POST', '/admin/tokens', 'create:token', 'issue a bearer token (JWT)'),
  rule('DELETE', '/admin/tokens/:id', 'delete:token', 'revoke a bearer token'),
  rule('GET', '/admin/policies', 'get:policy', 'the policies in force', planned),
  rule('PUT', '/admin/policies', 'update:policy', 'replace the policies', planned),
  // A POST only for its body: it computes an answer and changes nothing, so it is a read.
  rule(
    'POST',
    '/admin/policies/simulate',
    'get:policy-decision',
    'what the policies decide for a request',
  ),
  rule('GET', '/admin/audit', 'list:audit', 'audit records'),
  rule('GET', '/admin/audit/verify', 'get:audit', 'verify the audit chain and checkpoints'),
  rule('GET', '/admin/metrics/series', 'get:metric-series', 'metric time series'),
  rule('GET', '/metrics', 'get:metrics', 'Prometheus metrics'),
  rule('GET', '/admin/backups', 'list:backup', 'backups'),
  rule('POST', '/admin/backups', 'create:backup', 'start a backup'),
  rule('GET', '/admin/alerts', 'list:alert', 'alert rules, states and channels'),
];

/** The objects the table uses (`chat`, `conversation`, …), for warnings about misspelled actions. */
export const knownObjects: ReadonlySet<string> = new Set(
  routeRules.map((entry) => entry.action.slice(entry.action.indexOf(':') + 1)),
);

/** What the policy check of one request is about. */
export interface RouteAction {
  action: string;
  resource: string;
  /** True for routes served without authentication: skip the policy check. */
  public: boolean;
}

type ResourceBuilder = (params: Readonly<Record<string, unknown>>) => string | undefined;

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string };

/** Splits `/v1/conversations/:id` once into literal and parameter segments. */
function resourceBuilder(route: string): ResourceBuilder {
  const segments = route
    .split('/')
    .map((part): Segment =>
      part.startsWith(':')
        ? { kind: 'param', name: part.slice(1) }
        : { kind: 'literal', text: part },
    );
  if (segments.every((segment) => segment.kind === 'literal')) return () => route;
  return (params) => {
    const parts: string[] = [];
    for (const segment of segments) {
      if (segment.kind === 'literal') {
        parts.push(segment.text);
        continue;
      }
      const value = params[segment.name];
      // A missing or empty parameter cannot name a resource: the caller must deny.
      if (typeof value !== 'string' || value === '') return undefined;
      parts.push(encodeURIComponent(value));
    }
    return parts.join('/');
  };
}

const table = new Map<string, { entry: RouteRule; build: ResourceBuilder }>(
  routeRules.map((entry) => [
    `${entry.method} ${entry.route}`,
    { entry, build: resourceBuilder(entry.route) },
  ]),
);

/**
 * The action and resource of a request, from its method, its Fastify route pattern
 * (`request.routeOptions.url`) and its decoded route parameters. `HEAD` counts as `GET`.
 *
 * Undefined for a route that is not in the table or a parameter that is missing: the policy
 * plugin must then deny (fail closed), not skip the check.
 */
export function actionFor(
  method: string,
  routePattern: string,
  params: Readonly<Record<string, unknown>> = {},
): RouteAction | undefined {
  const upper = method.toUpperCase();
  const found = table.get(`${upper === 'HEAD' ? 'GET' : upper} ${routePattern}`);
  if (!found) return undefined;
  const resource = found.build(params);
  if (resource === undefined) return undefined;
  return { action: found.entry.action, resource, public: found.entry.public };
}

/** The resource column of the table: parameters shown as `<id>`. */
export function resourceTemplate(route: string): string {
  return route
    .split('/')
    .map((segment) => (segment.startsWith(':') ? `<${segment.slice(1)}>` : segment))
    .join('/');
}

/** The table as Markdown, for the README (`assistd policy routes` prints it). */
export function routeTableMarkdown(): string {
  const rows = routeRules.map((entry) => [
    entry.method,
    `\`${entry.route}\``,
    entry.public ? '— (public)' : `\`${entry.action}\``,
    `\`${resourceTemplate(entry.route)}\``,
    entry.status === 'planned' ? `${entry.summary} (planned)` : entry.summary,
  ]);
  const header = ['method', 'route', 'action', 'resource', 'what'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(row)),
  ].join('\n');
}
