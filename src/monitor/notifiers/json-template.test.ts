import { describe, expect, it } from 'vitest';
import { firing } from './__fixtures__/notifications.js';
import { renderJsonTemplate, templateProblem, templateValues } from './json-template.js';

describe('renderJsonTemplate', () => {
  const values = { text: 'a "b" \\ c\nd\t{{text}}', n: 3, none: null };

  it('escapes a value inside a JSON string and writes a whole JSON value elsewhere', () => {
    const rendered = renderJsonTemplate(
      '{"t":"<{{text}}>","n":{{n}},"s":{{text}},"z":{{none}},"q":"{{none}}"}',
      values,
    );
    expect(JSON.parse(rendered)).toEqual({
      t: `<${values.text}>`,
      n: 3,
      s: values.text,
      z: null,
      q: '',
    });
  });

  it('tracks escaped quotes, so a placeholder after \\" is still inside the string', () => {
    const rendered = renderJsonTemplate('{"t":"say \\"{{text}}\\"","k":"\\\\","n":{{n}}}', values);
    expect(JSON.parse(rendered)).toEqual({ t: `say "${values.text}"`, k: '\\', n: 3 });
  });

  it('refuses unknown placeholders and one right after a backslash', () => {
    expect(() => renderJsonTemplate('{"x":"{{nope}}"}', values)).toThrow(
      'unknown placeholder {{nope}} (known: text, n, none)',
    );
    expect(() => renderJsonTemplate('{"x":"\\{{text}}"}', values)).toThrow(/backslash/);
  });
});

describe('templateValues', () => {
  it('takes the first alert for rule, severity, summary, value and threshold', () => {
    expect(templateValues(firing)).toEqual({
      status: 'firing',
      title: '[FIRING] assistd latency-p99-high',
      text:
        '[FIRING] assistd latency-p99-high\n\n' +
        '- latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z\n',
      alerts_text:
        'latency-p99-high (warning): P99 latency 2350 ms > 2000 ms over 5m — since 2026-11-27T01:02:03Z',
      count: 1,
      group_key: 'ops:latency-p99-high',
      rule: 'latency-p99-high',
      severity: 'warning',
      summary: 'P99 latency 2350 ms > 2000 ms over 5m',
      value: 2350,
      threshold: 2000,
    });
  });
});

describe('templateProblem', () => {
  it('accepts a template that stays JSON, and says why one does not', () => {
    expect(templateProblem('{"text":"{{title}}: {{alerts_text}}","n":{{count}}}')).toBeUndefined();
    expect(templateProblem('{"text":"{{summary}}"')).toMatch(
      /^the template is not valid JSON once its placeholders are filled in: /,
    );
    expect(templateProblem('text={{summary}}')).toMatch(/not valid JSON/);
    expect(templateProblem('{"x":"{{bogus}}"}')).toMatch(/^unknown placeholder \{\{bogus\}\}/);
  });
});
