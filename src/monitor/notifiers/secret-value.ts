import { readFileSync } from 'node:fs';

/**
 * Reads a text file whole. Synchronous because notifiers are built while the config loads (at
 * start, `assistd alerts test`), where nothing else waits on the event loop. Injected in tests.
 */
export type ReadTextFile = (path: string) => string;

/** The real file system (UTF-8). */
export const readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8');

/** One secret of a channel: given inline (`field`) or as a file (`field_file`). */
export interface SecretSource {
  /** The config key, e.g. `key`; the file variant is `${field}_file`. */
  field: string;
  inline: string | undefined;
  file: string | undefined;
  /** No secret has a default: a required one given neither way is an error. */
  required: boolean;
}

/**
 * The secret's value: inline, or the file's contents with surrounding whitespace trimmed (editors
 * and `echo` add a final newline). Throws a message naming the field, never the value, when both
 * or (if required) neither is given, or the file cannot be read or is empty.
 */
export function secretValue(
  source: SecretSource,
  readFile: ReadTextFile = readTextFile,
): string | undefined {
  const { field, inline, file, required } = source;
  if (inline !== undefined && file !== undefined) {
    throw new Error(`give ${field} or ${field}_file, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(file).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `cannot read ${field}_file ${file}${code === undefined ? '' : ` (${code})`}`,
        {
          cause: error,
        },
      );
    }
    if (text === '') throw new Error(`${field}_file ${file} is empty`);
    return text;
  }
  if (inline === undefined && required) throw new Error(`${field} (or ${field}_file) is required`);
  return inline;
}
