import type { SendResult } from '../types.js';
import type { ChannelLimits } from './channel-sender.js';

/**
 * How long to wait before the next attempt, in milliseconds; undefined: give up.
 *
 * Exactly what the receiver asked for when it said (`retryAfterMs`, from Retry-After or a robot's
 * rate-limit answer), unless that is longer than `maxRetryAfterMs`. Otherwise exponential backoff
 * from `baseDelayMs`, capped at `maxDelayMs`, with equal jitter: half the step fixed and half
 * random, so channels retrying together spread out while each retry still waits longer than the
 * last. `attempts` counts the attempts made so far (1 after the first failure).
 */
export function retryDelayMs(
  result: SendResult,
  attempts: number,
  limits: Pick<ChannelLimits, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>,
  random: () => number,
): number | undefined {
  if (result.retryAfterMs !== undefined) {
    return result.retryAfterMs <= limits.maxRetryAfterMs
      ? Math.ceil(result.retryAfterMs)
      : undefined;
  }
  const ceiling = Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** (attempts - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
