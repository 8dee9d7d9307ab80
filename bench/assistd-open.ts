// assistd with access control off, for bench/gateway.ts's on/off comparison: the same server
// `assistd serve` starts (dist/), with `accessControl: 'off'` (no authentication, no policy
// check) and the config file's `audit.enabled: false`. Only reachable from code, never from the
// command line. Usage: assistd-open.ts CONFIG PORT DATA_DIR UPSTREAM_URL LOG_LEVEL
import type * as LoadModule from '../src/config/load.js';
import type * as LoggerModule from '../src/logger.js';
import type * as ServerModule from '../src/server.js';
// The built server (as `assistd serve` runs it), typed by its sources.
const dist = new URL('../dist/', import.meta.url);
const { loadConfig } = (await import(new URL('config/load.js', dist).href)) as typeof LoadModule;
const { createLogger } = (await import(new URL('logger.js', dist).href)) as typeof LoggerModule;
const { startServer } = (await import(new URL('server.js', dist).href)) as typeof ServerModule;

const [config, port, dataDir, modelEndpoint, logLevel] = process.argv.slice(2);
const loaded = loadConfig({
  flags: { config, port, dataDir, modelEndpoint, logLevel, upstreamModel: 'bench-model' },
  env: {},
});
await startServer({
  config: loaded,
  logger: createLogger(loaded.log_level),
  announce: () => undefined,
  accessControl: 'off',
});
