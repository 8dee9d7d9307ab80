import { createRequire } from 'node:module';
import type * as Undici from 'undici';

// undici's connection pools without the rest of its index: the index also loads fetch, WebSocket,
// EventSource, the HTTP caches and the mocks (about 90 modules; 8 MB of resident memory in a bare
// Node.js process, about 5 MB in the server) that assistd never uses. undici has no `exports`
// map, so these are its own files, put together as its index.js does: the request API
// (`request`, `stream`, `pipeline`, …) lives on Dispatcher.prototype. Loading the full index
// later as well changes nothing (same modules, same functions). `undici.test.ts` holds these
// equal to the index's classes.
const require = createRequire(import.meta.url);
const dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
Object.assign(dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export type Agent = Undici.Agent;
export type { Dispatcher } from 'undici';
