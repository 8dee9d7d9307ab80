import type { AlertInstance, AlertNotification } from '../types.js';

// The one place a notification becomes words; every channel renders through it, so an email, a
// robot message and an SMS say the same thing.

/** An instant as RFC 3339 UTC to the second (`2026-11-27T01:02:03Z`). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An instant as RFC 3339 the way Go (Alertmanager) writes it: UTC, no trailing zero digits. */
export function rfc3339(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace(/\.Z$/, 'Z');
}

/**
 * The first line of every message: `[FIRING] assistd RULE`, `[RESOLVED] …`, or `[TEST] …` for
 * `assistd alerts test`; several alerts are counted and the first three named.
 */
export function headline(notification: AlertNotification): string {
  const tag = notification.test === true ? 'TEST' : notification.status.toUpperCase();
  const names = notification.alerts.map((alert) => alert.rule);
  const subject =
    names.length === 1 ? names[0]! : `${names.length} alerts: ${names.slice(0, 3).join(', ')}`;
  return `[${tag}] assistd ${subject}${names.length > 3 ? ', …' : ''}`;
}

/**
 * One alert as one line: rule, severity, the summary (which states the value against the
 * threshold, or "no data"), and since when it fires or when it resolved.
 */
export function alertLine(alert: AlertInstance): string {
  const when =
    alert.status === 'resolved' && alert.endsAt !== undefined
      ? `resolved ${isoSeconds(alert.endsAt)} (since ${isoSeconds(alert.startsAt)})`
      : `since ${isoSeconds(alert.startsAt)}`;
  return `${alert.rule} (${alert.severity}): ${alert.summary} — ${when}`;
}

/** The message as plain text (email, Feishu, SMS and voice gateways), ending with a newline. */
export function plainText(notification: AlertNotification): string {
  const lines = [headline(notification), ''];
  for (const alert of notification.alerts) lines.push(`- ${alertLine(alert)}`);
  if (notification.externalUrl !== undefined) lines.push('', notification.externalUrl);
  return `${lines.join('\n')}\n`;
}

/**
 * The message as Markdown (WeCom and DingTalk robots): the headline coloured (WeCom's `<font>`;
 * DingTalk shows the text), text from rules escaped so it cannot open links or tags.
 */
export function markdown(notification: AlertNotification): string {
  const colour =
    notification.status === 'firing' && notification.test !== true ? 'warning' : 'info';
  // The headline holds only rule names (letters, digits, . _ -) and fixed words: no markup.
  const lines = [`## <font color="${colour}">${headline(notification)}</font>`, ''];
  for (const alert of notification.alerts) lines.push(`- ${escapeMarkdown(alertLine(alert))}`);
  if (notification.externalUrl !== undefined) {
    lines.push('', `[assistd console](${notification.externalUrl})`);
  }
  return lines.join('\n');
}

/**
 * Keeps alert text from being read as markup. WeCom's markdown has no backslash escapes (they
 * would show), so the characters that could open markup are swapped for look-alikes instead.
 */
function escapeMarkdown(text: string): string {
  return text.replace(/[<[\]`*]/g, (character) => lookAlikes[character] ?? character);
}

/** The characters that open markup inside a line of WeCom / DingTalk markdown. */
const lookAlikes: Record<string, string> = {
  '<': '‹',
  '[': '［',
  ']': '］',
  '`': 'ˋ',
  '*': '∗',
};

/**
 * Cuts `text` to at most `maxBytes` of UTF-8 on a character (code point) boundary, ending with a
 * line saying it was cut. WeCom refuses markdown over 4096 bytes, text over 2048.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const note = '\n…(truncated)';
  const budget = maxBytes - Buffer.byteLength(note);
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > budget) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end) + note;
}
