import type { Logger } from 'pino';
import type { SharedState } from '../cache/shared.js';
import type { Keyring } from './keyring.js';

/**
 * Keeps the running server's keyring current: rotation checked hourly (one replica rotates,
 * under the shared lock; the store's transaction decides if two try) and announced to the rest,
 * and the keyring reread every 30 s for changes made without an announcement (the CLI without
 * Redis). `onRotated` hears each rotation (the audit record). Returns the stop function.
 */
export function startKeyUpkeep(options: {
  keyring: Keyring;
  shared: SharedState;
  logger: Logger;
  onRotated: (outcome: 'generated' | 'rotated') => void;
}): () => Promise<void> {
  const { keyring, shared, logger } = options;
  // Damaged key rows, said at start and again whenever the set changes.
  let reported = '';
  const reportUnusable = () => {
    const now = JSON.stringify(keyring.unusable);
    if (now === reported) return;
    reported = now;
    for (const { kid, reason } of keyring.unusable) {
      logger.error({ kid }, `signing key ${kid} is left out of the keyring: ${reason}`);
    }
  };
  reportUnusable();
  const rotation = setInterval(() => {
    shared
      .exclusive('key-rotation', 60_000, () => keyring.ensureCurrent())
      .then(
        (outcome) => {
          if (outcome === undefined || outcome === 'unchanged') return;
          logger.info({ outcome }, 'rotated the signing key');
          options.onRotated(outcome);
          shared.announce('keys');
        },
        (error: unknown) => logger.error({ err: error }, 'signing key rotation failed'),
      );
  }, 3_600_000);
  rotation.unref();
  const refresh = setInterval(() => {
    keyring
      .load()
      .then(reportUnusable)
      .catch((error: unknown) => logger.warn({ err: error }, 'rereading the keyring failed'));
  }, 30_000);
  refresh.unref();
  return () => {
    clearInterval(rotation);
    clearInterval(refresh);
    return Promise.resolve();
  };
}
