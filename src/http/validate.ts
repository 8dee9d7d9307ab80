import type * as z from '../util/zod.js';
import { AppError } from '../errors.js';

/** Validates a request body, turning the first problem into a 4xx that names the field. */
export function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
): z.output<Schema> {
  if (body === undefined) throw new AppError('invalid_request', 'The request needs a JSON body.');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_request', 'The request body must be a JSON object.');
  }
  return parseValue(schema, body);
}

/** Validates any input (query strings too) the same way. */
export function parseValue<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw issueToError(result.error.issues[0]!);
}

function issueToError(issue: z.core.$ZodIssue): AppError {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = path === '' ? key : `${path}.${key}`;
    return new AppError('invalid_request', `Unknown field "${field}".`, { param: field });
  }
  const param = path === '' ? undefined : path;
  if (
    issue.code === 'custom' &&
    (issue.params as { unsupported?: boolean } | undefined)?.unsupported
  ) {
    return new AppError('unsupported_content', `${path}: ${issue.message}`, { param });
  }
  let message = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_type' && / received undefined$/.test(message))
    message = 'is required';
  return new AppError('invalid_request', param === undefined ? message : `${path}: ${message}`, {
    param,
  });
}

/** `["messages", 0, "content"]` → `messages[0].content`. */
function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
