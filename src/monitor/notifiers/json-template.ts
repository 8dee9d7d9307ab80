import type { AlertInstance, AlertNotification } from '../types.js';
import { alertLine, headline, plainText } from './format.js';

// A webhook template is JSON with `{{name}}` placeholders, for gateways (SMS, voice calls) that
// want their own body. The values come from alert text, which may hold anything, so they are
// encoded for where they stand: inside a JSON string, as the string's escaped contents; anywhere
// else, as a whole JSON value (a quoted string, a number, or null). A template that is valid
// JSON with its placeholders filled in stays valid whatever the alerts say.

/** A placeholder's value: text, a number, or null (no value: a rule over no data). */
export type TemplateValue = string | number | null;

/**
 * The placeholders, from a notification (values of its first alert where one is meant):
 * `status` firing|resolved, `title` the headline, `text` the plain-text message, `alerts_text`
 * every alert on one line (`; `-separated), `count`, `group_key`, `rule`, `severity`, `summary`,
 * `value` (null without data), `threshold`.
 */
export function templateValues(notification: AlertNotification): Record<string, TemplateValue> {
  const first: AlertInstance | undefined = notification.alerts[0];
  return {
    status: notification.status,
    title: headline(notification),
    text: plainText(notification),
    alerts_text: notification.alerts.map(alertLine).join('; '),
    count: notification.alerts.length,
    group_key: notification.groupKey,
    rule: first?.rule ?? '',
    severity: first?.severity ?? '',
    summary: first?.summary ?? '',
    value: first?.value ?? null,
    threshold: first?.threshold ?? null,
  };
}

/**
 * Fills `{{name}}` placeholders (spaces inside the braces allowed). Inside a JSON string a value
 * becomes escaped text (null: empty); elsewhere it becomes a JSON value. Text the placeholder
 * pattern does not match, or that a value brings in (a summary saying `{{rule}}`), is left as is.
 * Throws on an unknown placeholder name.
 */
export function renderJsonTemplate(
  template: string,
  values: Readonly<Record<string, TemplateValue>>,
): string {
  let output = '';
  let inString = false;
  let escaped = false;
  let index = 0;
  while (index < template.length) {
    const placeholder = template.startsWith('{{', index)
      ? /^\{\{\s*([a-z_]+)\s*\}\}/.exec(template.slice(index, index + 64))
      : null;
    if (placeholder) {
      const name = placeholder[1]!;
      if (escaped) throw new Error(`a backslash escapes nothing before {{${name}}}`);
      if (!Object.hasOwn(values, name)) {
        throw new Error(
          `unknown placeholder {{${name}}} (known: ${Object.keys(values).join(', ')})`,
        );
      }
      const value = values[name] ?? null;
      output += inString
        ? value === null
          ? ''
          : JSON.stringify(String(value)).slice(1, -1)
        : JSON.stringify(value);
      index += placeholder[0].length;
      continue;
    }
    const character = template[index]!;
    if (escaped) escaped = false;
    else if (inString && character === '\\') escaped = true;
    else if (character === '"') inString = !inString;
    output += character;
    index += 1;
  }
  return output;
}

const sampleAlert: AlertInstance = {
  rule: 'sample "rule" \\ {{x}}',
  status: 'firing',
  severity: 'warning',
  metric: 'request_latency_ms',
  aggregation: 'p99',
  comparison: '>',
  threshold: 2000,
  value: 2500,
  summary: 'line one\nline "two" \\ three {{summary}}',
  startsAt: 0,
  fingerprint: '0',
  labels: {},
};

/** Notifications with awkward text, with and without a value, a template is tried on. */
const samples: AlertNotification[] = [
  { status: 'firing', groupKey: 'sample', alerts: [sampleAlert] },
  {
    status: 'resolved',
    groupKey: 'sample',
    test: true,
    alerts: [{ ...sampleAlert, status: 'resolved', value: undefined, endsAt: 60_000 }],
  },
];

/**
 * Why `template` cannot be used (an unknown placeholder, or not valid JSON once filled in), or
 * undefined when it can. Checked when the config is read, so a bad template stops the start
 * rather than every alert.
 */
export function templateProblem(template: string): string | undefined {
  try {
    for (const sample of samples) JSON.parse(renderJsonTemplate(template, templateValues(sample)));
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    return error instanceof SyntaxError
      ? `the template is not valid JSON once its placeholders are filled in: ${message}`
      : message;
  }
}
