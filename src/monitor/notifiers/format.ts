import type { AlertInstance, AlertNotification } from '../types.js';

/** `[FIRING] …`, `[RESOLVED] …` or `[TEST] …`: the first line of every message. */
export function headline(notification: AlertNotification): string {
  const tag = notification.test === true ? 'TEST' : notification.status.toUpperCase();
  const names = notification.alerts.map((alert) => alert.rule);
  const subject =
    names.length === 1 ? names[0]! : `${names.length} alerts: ${names.slice(0, 3).join(', ')}`;
  return `[${tag}] assistd ${subject}${names.length > 3 ? ', …' : ''}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One alert as one line: rule, severity, the summary (value against threshold), since when. */
export function alertLine(alert: AlertInstance): string {
  const when =
    alert.status === 'resolved' && alert.endsAt !== undefined
      ? `resolved ${iso(alert.endsAt)} (since ${iso(alert.startsAt)})`
      : `since ${iso(alert.startsAt)}`;
  return `${alert.rule} (${alert.severity}): ${alert.summary} — ${when}`;
}

/** The message as plain text (email body, SMS and voice gateways, Feishu). */
export function plainText(notification: AlertNotification): string {
  const lines = [headline(notification), ''];
  for (const alert of notification.alerts) lines.push(`- ${alertLine(alert)}`);
  if (notification.externalUrl !== undefined) lines.push('', notification.externalUrl);
  return `${lines.join('\n')}\n`;
}

/** The message as Markdown (WeCom and DingTalk robots); text from rules is escaped. */
export function markdown(notification: AlertNotification): string {
  const colour =
    notification.status === 'firing' && notification.test !== true ? 'warning' : 'info';
  const lines = [`## <font color="${colour}">${escapeMarkdown(headline(notification))}</font>`, ''];
  for (const alert of notification.alerts) lines.push(`- ${escapeMarkdown(alertLine(alert))}`);
  if (notification.externalUrl !== undefined) {
    lines.push('', `[assistd console](${notification.externalUrl})`);
  }
  return lines.join('\n');
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#]/g, (character) => `\\${character}`);
}

/**
 * Cuts `text` to at most `maxBytes` of UTF-8 on a character boundary, ending with a note that it
 * was cut (WeCom markdown takes 4096 bytes, text 2048).
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
