import { ensureDataDir } from './util/data-dir.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Config } from './config/schema.js';
import { DialogEngine } from './dialog/engine.js';
import { buildApp } from './http/app.js';
import { Lifecycle, drain } from './http/lifecycle.js';
import { rulesReloadEvent, startAlerting } from './monitor/alerting-runtime.js';
import { listenForScrapes } from './monitor/metrics-listener.js';
import { openMonitor, type Monitor } from './monitor/monitor.js';
import { timedConversations } from './monitor/timed-store.js';
import { buildModels, StartupError } from './providers/index.js';
import { encryptConversations, fieldCipher } from './security/field-cipher.js';
import {
  openAuditLog,
  repairAuditCheckpoints,
  serverEntry,
  type AuditLog,
} from './security/audit/index.js';
import {
  bootstrapTokenEvent,
  policyReloadEvent,
  signingKeyEvent,
} from './security/audit/server-events.js';
import { openSecurity } from './security/index.js';
import { checkListenSecurity } from './security/listen-check.js';
import { PolicyFileError } from './security/policy/document.js';
import { PolicySet } from './security/policy/policy-set.js';
import { openAtRest } from './security/sealer.js';
import { openTls } from './security/tls.js';
import { mintToken } from './security/tokens.js';
import { openLogShipping } from './backup/open-repository.js';
import { BackupRunner } from './backup/runner.js';
import { startBackupSchedule } from './backup/scheduler.js';
import { shippedConversations } from './backup/shipped-store.js';
import { openSharedState } from './cache/shared.js';
import { startKeyUpkeep } from './security/key-upkeep.js';
import { describeStore, openStore } from './storage/open.js';
import type { Store } from './storage/types.js';
import { randomId, type Clock, type IdGenerator } from './util/ids.js';

/** Lifetime of the administrator token made on first start. */
export const bootstrapTokenTtlMs = 90 * 86_400_000;

export interface StartServerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Shows the first administrator token to the operator (stdout in the CLI). */
  announce: (text: string) => void;
  clock?: Clock;
  ids?: IdGenerator;
  /** Replaces the model endpoint's connection pool (tests). */
  dispatcher?: Dispatcher;
  /**
   * `'off'` serves every request without authentication or policy checks, as an administrator:
   * only for benchmarks that measure what access control costs (bench/gateway.ts). Deliberately
   * absent from the command line, the environment and the config file; logged as an error.
   */
  accessControl?: 'off';
  /** The built web console's folder (tests); absent: `dist/console/` (see AppDeps.consoleDir). */
  consoleDir?: string;
}

export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port` (`https://` with TLS) actually bound (port 0 picks a free one). */
  url: string;
  lifecycle: Lifecycle;
  /** Drains and stops; resolves when everything is closed. Safe to call twice. */
  shutdown(reason: string): Promise<void>;
  /** Rereads what can change without a restart (SIGHUP): the policy file, TLS certificates. */
  reload(): Promise<void>;
  /** The audit log; `auditWriteFailures` is the counter to alert on. */
  audit: AuditLog;
  /** The dialog engine (its `activeTurns` is what the conversation locks hold). */
  engine: DialogEngine;
  /** The separate scrape listener's `http://host:port` (`metrics.listen`), when configured. */
  metricsUrl?: string;
  /** Metrics and time series; absent when `metrics.enabled` is false. */
  monitor?: Monitor;
}

/** Opens the data dir, builds every dependency, and listens. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const clock = options.clock ?? Date.now;
  const ids = options.ids ?? randomId;

  // Refused before anything is opened: plain HTTP off loopback, or a bad certificate pair.
  checkListenSecurity(config);
  const tls = await openTls(config, logger, clock);

  ensureDataDir(config.data_dir);
  const store = await openStore(config, logger, { server: true });
  logger.info({ store: describeStore(config) }, 'store open');
  // Closed in reverse order on shutdown, or when start-up fails halfway.
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await store.close();
  };
  try {
    // The master key first: a start that cannot open it prints no administrator token.
    const atRest = await openAtRest({ config, store, logger });
    closers.push(() => atRest.crypto.close());
    const bootstrapTokenId = await createBootstrapToken(store, clock, options.announce, logger);
    const monitor = openMonitor(config);
    if (monitor) closers.push(() => Promise.resolve(monitor.stop()));
    const models = await buildModels({
      config,
      logger,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(monitor ? { wrap: monitor.instrument } : {}),
    });
    closers.push(() => models.close());
    await encryptConversations({ store, crypto: atRest.crypto, logger });
    const security = await openSecurity({ config, store, sealer: atRest.sealer, clock });
    // --- state shared by replicas (Redis when configured): context cache, rate limits, locks.
    const shared = await openSharedState({
      config,
      logger,
      cipher: fieldCipher(atRest.crypto),
      clock,
    });
    closers.push(() => shared.close());
    // --- conversation-log shipping (backup/log-shipper.ts): every stored change, to object storage.
    const shipping = config.log_shipping.enabled
      ? await openLogShipping(config, logger)
      : undefined;
    if (shipping) closers.push(() => shipping.close());
    const timed = monitor
      ? timedConversations(store.conversations, (operation, ms) =>
          monitor.observeStoreWrite(operation, ms),
        )
      : store.conversations;
    const conversations = shipping ? shippedConversations(timed, shipping.shipper) : timed;
    const engine = new DialogEngine({
      store: conversations,
      cache: shared.cache,
      checkCachedVersions: config.database.url !== undefined || shared.redis !== undefined,
      models,
      clock,
      ids,
      logger,
      defaultMaxTokens: config.dialog.default_max_tokens,
    });
    // --- audit log (security/audit): closed after the app has drained, before the store.
    await repairAuditCheckpoints({ config, store, keyring: security.keyring, logger });
    const audit = openAuditLog({
      config,
      store,
      keyring: security.keyring,
      logger,
      clock,
      timer: true,
      ...(monitor ? { onWrite: (ms: number) => monitor.observeAuditWrite(ms) } : {}),
    });
    closers.push(() => audit.close());
    if (!audit.enabled) logger.warn('audit.enabled is false: no audit records are written');
    const auditKey = (operation: string) =>
      audit.record(
        serverEntry(
          signingKeyEvent(
            operation,
            security.keyring.list().find((key) => key.status === 'active')?.kid ?? null,
          ),
          clock(),
        ),
      );
    if (bootstrapTokenId !== undefined) {
      audit.record(serverEntry(bootstrapTokenEvent(bootstrapTokenId), clock()));
    }
    // --- end audit log
    const keys = await security.keyring.ensureCurrent();
    // With a key to sign with, anchors what a process stopped without its last checkpoint
    // (killed) left: records that waited across a downtime would look like removed checkpoints.
    if (audit.enabled) await audit.checkpoint();
    if (keys !== 'unchanged') logger.info({ keys }, 'signing key ready');
    if (keys !== 'unchanged') auditKey(keys);
    closers.push(
      startKeyUpkeep({ keyring: security.keyring, shared, logger, onRotated: auditKey }),
    );
    const policies = await loadPolicies(config, logger);
    // Policy reloads are administrative operations: recorded (a rejected file too).
    let announcedReload = false;
    policies.onEvent((event) => {
      if (event.type !== 'unchanged') audit.record(serverEntry(policyReloadEvent(event), event.at));
      // A change this replica saw first: the others reread their copy now.
      if (event.type === 'loaded' && !announcedReload) shared.announce('policies');
    });
    shared.onAnnounce((kind) => {
      const reload =
        kind === 'keys'
          ? security.keyring.load()
          : ((announcedReload = true), policies.reload().finally(() => (announcedReload = false)));
      reload.catch((error: unknown) =>
        logger.error({ err: error, kind }, 'announced reload failed'),
      );
    });
    closers.push(() => {
      policies.close();
      return Promise.resolve();
    });
    // One runner for scheduled backups and those started by hand (POST /admin/backups).
    const backups = new BackupRunner({ config, logger, shared, audit, clock });
    closers.push(() => backups.close());
    const stopBackups = startBackupSchedule({ config, logger, runner: backups });
    if (stopBackups) closers.push(stopBackups);
    // --- alerting (monitor/alerts): rules over the time series, notifications to the channels.
    const alerts =
      monitor && config.alerts.enabled
        ? await startAlerting({
            config,
            reader: monitor.series,
            logger,
            // Rules reloads are configuration changes: recorded like policy reloads.
            onReload: (event) => audit.record(serverEntry(rulesReloadEvent(event), clock())),
          })
        : undefined;
    if (alerts) closers.push(() => alerts.close());
    const lifecycle = new Lifecycle();
    const app = buildApp({
      config,
      logger,
      store,
      models,
      engine,
      conversations,
      cache: shared.cache,
      rateLimiter: shared.rateLimiter,
      redis: shared.redis,
      authenticator: security.authenticator,
      keyring: security.keyring,
      tokenIssuer: security.issuer,
      policies,
      clock,
      ids,
      lifecycle,
      audit,
      monitor,
      alerting: alerts?.alerting,
      backups,
      logShipper: shipping?.shipper,
      ...(tls ? { https: tls.serverOptions() } : {}),
      ...(options.accessControl === 'off' ? { accessControl: 'off' as const } : {}),
      consoleDir: options.consoleDir,
    });
    if (options.accessControl === 'off') {
      logger.error('access control is OFF: every request runs as an administrator (benchmark)');
    }
    await app.listen({ host: config.host, port: config.port });
    let metricsUrl: string | undefined;
    if (monitor) {
      monitor.start({
        models,
        cache: shared.cache,
        redis: shared.redis,
        auditWriteFailures: () => audit.auditWriteFailures,
        auditThreadBatches: () => store.audit.threadBatches ?? 0,
        logShipping: shipping?.shipper,
      });
      if (config.metrics.listen !== undefined) {
        const listener = await listenForScrapes(config.metrics.listen, monitor).catch(
          async (error: unknown) => {
            await app.close();
            throw new StartupError(
              `cannot listen for metrics on ${config.metrics.listen}: ${(error as Error).message}`,
            );
          },
        );
        closers.push(() => listener.close());
        metricsUrl = listener.url;
        logger.info({ url: metricsUrl }, 'metrics listener: GET /metrics without a token');
      }
    }
    if (tls) {
      tls.attach(app.server);
      closers.push(() => {
        tls.close();
        return Promise.resolve();
      });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    logger.info(
      { url, models: models.list().map((m) => m.id), default_model: models.defaultId },
      'assistd listening',
    );

    let closing: Promise<void> | undefined;
    const shutdown = (reason: string) => {
      closing ??= drain({
        app,
        lifecycle,
        logger,
        reason,
        graceMs: config.shutdown_grace_seconds * 1000,
      }).finally(async () => {
        await closeAll();
        logger.info('assistd stopped');
        logger.flush();
      });
      return closing;
    };
    const reload = async () => {
      await Promise.all([policies.reload(), tls?.reload(), alerts?.reload()]);
    };
    return {
      app,
      url,
      lifecycle,
      shutdown,
      reload,
      audit,
      engine,
      ...(metricsUrl !== undefined ? { metricsUrl } : {}),
      ...(monitor ? { monitor } : {}),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The policies in force; a file that cannot be read or parsed stops the start, naming the line. */
async function loadPolicies(config: Readonly<Config>, logger: Logger): Promise<PolicySet> {
  try {
    return await PolicySet.load({ path: config.security.policies_file, logger });
  } catch (error) {
    if (error instanceof PolicyFileError) throw new StartupError(error.message);
    throw error;
  }
}

async function createBootstrapToken(
  store: Store,
  clock: Clock,
  announce: (text: string) => void,
  logger: Logger,
): Promise<string | undefined> {
  const issued = mintToken({
    principal: 'admin',
    admin: true,
    ttlMs: bootstrapTokenTtlMs,
    now: clock(),
  });
  if (!(await store.tokens.insertBootstrapToken(issued.record))) return undefined;
  const expires = new Date(issued.record.expiresAt!).toISOString();
  announce(
    [
      '',
      'assistd: created the first administrator token (principal "admin", expires ' +
        expires +
        ').',
      'It is shown only this once; keep it somewhere safe:',
      '',
      `    ${issued.token}`,
      '',
      'More tokens: assistd tokens issue --principal NAME [--ttl 30d]',
      '',
    ].join('\n'),
  );
  logger.info({ token_id: issued.record.id }, 'created the first administrator token');
  return issued.record.id;
}
