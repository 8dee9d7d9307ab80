/** The sections of the Operations pages, in the order their links appear. */
export const opsSections = [
  'charts',
  'alerts',
  'audit',
  'keys',
  'tokens',
  'backups',
  'simulator',
] as const;
export type OpsSection = (typeof opsSections)[number];

/**
 * Where the signed-in page is: the chat (a conversation, or a new chat when `conversationId` is
 * undefined), or an Operations section (undefined: the first allowed).
 */
export type Route =
  | { page: 'chat'; conversationId?: string | undefined }
  | { page: 'ops'; section: OpsSection | undefined };

/**
 * Reads `#/chat`, `#/c/<conversation id>`, `#/ops`, `#/ops/alerts`… An empty hash is a new chat.
 * Any other hash (an in-page link such as the skip link's `#composer-input`) is not a route:
 * undefined, the page stays put.
 */
export function parseRoute(hash: string): Route | undefined {
  const path = hash.replace(/^#/, '');
  if (path === '' || path === '/' || path === '/chat') return { page: 'chat' };
  const conversation = /^\/c\/([^/]+)\/?$/.exec(path);
  // Whether such a conversation exists (for this principal) is the server's to say.
  if (conversation?.[1] !== undefined) {
    return { page: 'chat', conversationId: decodedSegment(conversation[1]) };
  }
  if (path === '/ops' || path === '/ops/') return { page: 'ops', section: undefined };
  const match = /^\/ops\/([a-z]+)\/?$/.exec(path);
  if (match === null) return undefined;
  const section = opsSections.find((name) => name === match[1]);
  // An unknown section is still the Operations page; it shows its first section.
  return { page: 'ops', section };
}

export function routeHash(route: Route): string {
  if (route.page === 'chat') {
    return route.conversationId === undefined
      ? '#/chat'
      : `#/c/${encodeURIComponent(route.conversationId)}`;
  }
  return route.section === undefined ? '#/ops' : `#/ops/${route.section}`;
}

/** A percent-encoded path segment decoded; as it is when it is not valid encoding. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
