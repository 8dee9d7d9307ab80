import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, errorBody, errorCatalog, type ErrorCode } from './errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it.each(Object.entries(errorCatalog))(
    'the README documents %s with its status and type',
    (code, spec) => {
      const row = new RegExp(
        `^\\| \`${code}\`\\s+\\| ${spec.status}\\s+\\| \`${spec.type}\`\\s+\\|`,
        'm',
      );
      expect(readme).toMatch(row);
    },
  );

  it('documents no code the registry lacks', () => {
    const start = readme.indexOf('## Error codes');
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end === -1 ? undefined : end);
    const documented = [...section.matchAll(/^\| `([a-z_]+)`/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(errorCatalog).sort());
  });

  it('gives client mistakes 4xx and server trouble 5xx', () => {
    const clientTypes = [
      'invalid_request_error',
      'authentication_error',
      'not_found_error',
      'conflict_error',
      'rate_limit_error',
      'permission_error',
    ];
    for (const [code, spec] of Object.entries(errorCatalog)) {
      expect(spec.status < 500, code).toBe(clientTypes.includes(spec.type));
    }
  });

  it('renders the OpenAI error shape', () => {
    const error = new AppError('invalid_request' satisfies ErrorCode, 'temperature: too big', {
      param: 'temperature',
    });
    expect(errorBody(error)).toEqual({
      error: {
        message: 'temperature: too big',
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'temperature',
      },
    });
  });
});
