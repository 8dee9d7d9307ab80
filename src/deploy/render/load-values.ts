import { parse as parseYaml } from 'yaml';
import type * as z from '../../util/zod.js';
import { valuesSchema, type Values } from './values-schema.js';

/** A values file the renderer refuses; the message names every offending field. */
export class ValuesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValuesError';
  }
}

/**
 * Parses values YAML (`source` names it in messages) and fills in the defaults. An empty file
 * means "all defaults".
 */
export function parseValues(text: string, source: string): Values {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ValuesError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) document = {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ValuesError(`${source} must hold a mapping of values`);
  }
  return checkValues(document, source);
}

/** Checks values given as an object (tests, programs) and fills in the defaults. */
export function checkValues(input: unknown, source = 'values'): Values {
  const parsed = valuesSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValuesError(`invalid values in ${source}:\n${formatIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

/** One line per problem, `path.to.key: message`, so the field to fix is the first thing read. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const where = path === '' ? '' : `${path}.`;
        return issue.keys.map((key) => `  ${where}${key}: unknown key`).join('\n');
      }
      return `  ${path === '' ? '(top level)' : path}: ${issue.message}`;
    })
    .join('\n');
}
