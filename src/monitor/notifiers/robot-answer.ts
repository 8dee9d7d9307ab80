import type { SendResult } from '../types.js';
import { asText, field, type Answer } from './http-send.js';

/** How long a robot that says "too many messages" is left alone: its limit is per minute. */
export const robotBackoffMs = 60_000;

/**
 * Judges a WeCom or DingTalk robot's `{ errcode, errmsg }` answer: delivered only on HTTP 200
 * with `errcode: 0`; `rateLimitCode` (WeCom 45009, DingTalk 130101) is retried after a minute;
 * any other code (a wrong key, a bad message) is final.
 */
export function robotAnswer(answer: Answer, rateLimitCode: number): SendResult {
  const code = field(answer.json, 'errcode');
  const message = asText(field(answer.json, 'errmsg') ?? answer.text.slice(0, 200));
  const base = { status: answer.status, detail: `errcode ${asText(code)} ${message}`.trim() };
  if (code === 0 && answer.status === 200) return { ...base, ok: true, retryable: false };
  if (code === rateLimitCode) {
    return { ...base, ok: false, retryable: true, retryAfterMs: robotBackoffMs };
  }
  return {
    ...base,
    ok: false,
    ...(code === undefined ? { detail: `unexpected answer: ${message}`.trim() } : {}),
    retryable: false,
  };
}
