import type { AlertNotification, Notifier, SendResult } from '../types.js';
import type { Timers } from './timers.js';

/** Longest `detail` kept from a receiver, in characters: it lands in logs and the admin view. */
const maxDetailLength = 300;

const clip = (text: string) =>
  text.length > maxDetailLength ? `${text.slice(0, maxDetailLength - 1)}…` : text;

/** A notifier's answer, or a failure when it is not one (the notifier is someone else's code). */
function checked(value: unknown): SendResult {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as SendResult).ok !== 'boolean'
  ) {
    return { ok: false, retryable: false, detail: 'the notifier returned no SendResult' };
  }
  const result = value as SendResult;
  const retryAfterMs =
    typeof result.retryAfterMs === 'number' && Number.isFinite(result.retryAfterMs)
      ? Math.max(0, result.retryAfterMs)
      : undefined;
  return {
    ok: result.ok,
    status: typeof result.status === 'number' ? result.status : undefined,
    detail: clip(typeof result.detail === 'string' ? result.detail : ''),
    retryable: result.retryable === true,
    retryAfterMs,
  };
}

/**
 * A notifier that throws broke its contract (receiver failures are `ok: false` results), so the
 * cause is a bug, not a busy receiver: retrying would repeat it. Failed, not retried.
 */
function thrown(error: unknown): SendResult {
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, retryable: false, detail: clip(`the notifier threw: ${message}`) };
}

/**
 * One send, never longer than `timeoutMs` and never throwing. At the timeout the notifier's signal
 * is aborted and its promise abandoned (its eventual answer or rejection is swallowed), so a
 * notifier that ignores the signal costs a dangling promise, not a stuck channel. A timeout is
 * retryable. `abandon` (the dispatcher closing) cuts the send short the same way.
 */
export async function sendOnce(
  notifier: Notifier,
  notification: AlertNotification,
  timeoutMs: number,
  timers: Timers,
  abandon: AbortSignal,
): Promise<SendResult> {
  if (abandon.aborted) {
    return { ok: false, retryable: false, detail: 'abandoned: the dispatcher closed' };
  }
  const controller = new AbortController();
  let cutOff: (result: SendResult) => void = () => {};
  const stopped = new Promise<SendResult>((resolve) => {
    cutOff = resolve;
  });
  // Settle first, abort second: a notifier reacting to the abort must not win the race.
  const cancelTimeout = timers.after(timeoutMs, () => {
    cutOff({ ok: false, retryable: true, detail: `no answer within ${timeoutMs} ms` });
    controller.abort(new Error(`alert send timed out after ${timeoutMs} ms`));
  });
  const onAbandon = () => {
    cutOff({ ok: false, retryable: false, detail: 'abandoned: the dispatcher closed' });
    controller.abort(new Error('the alert dispatcher closed'));
  };
  abandon.addEventListener('abort', onAbandon, { once: true });
  try {
    // An async wrapper turns a notifier that throws synchronously into a rejection.
    const sending = (async () => notifier.send(notification, controller.signal))();
    return await Promise.race([sending.then(checked, thrown), stopped]);
  } finally {
    cancelTimeout();
    abandon.removeEventListener('abort', onAbandon);
  }
}
