import {
  isCollection,
  isMap,
  isNode,
  isScalar,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml';

/** A place in the policy file, 1-based. */
export interface Position {
  line: number;
  column: number;
}

type PathKey = string | number;

function positionOf(node: Node | null | undefined, lines: LineCounter): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** The node at `path`, or undefined when the path leaves the document. */
function nodeAt(document: Document, path: readonly PathKey[]): Node | undefined {
  if (path.length === 0) return document.contents ?? undefined;
  const found: unknown = document.getIn(path, true);
  return isNode(found) ? found : undefined;
}

/**
 * Where the value at `path` is written. A missing value (a required key left out) points at the
 * nearest enclosing node that exists; `key` points at that key of a mapping instead of its value
 * (for unknown keys).
 */
export function locate(
  document: Document,
  lines: LineCounter,
  path: readonly PathKey[],
  key?: string,
): Position {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = nodeAt(document, path.slice(0, depth));
    if (!node) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
      const keyPosition = isNode(pair?.key) ? positionOf(pair.key, lines) : undefined;
      if (keyPosition) return keyPosition;
    }
    const position = positionOf(node, lines);
    if (position) return position;
  }
  return { line: 1, column: 1 };
}

/** Whether the path names an existing mapping or sequence (used to word "missing key" errors). */
export function isCollectionAt(document: Document, path: readonly PathKey[]): boolean {
  return isCollection(nodeAt(document, path));
}

/** Renders `['policies', 1, 'effect']` as `policies[1].effect`. */
export function formatPath(path: readonly PathKey[]): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  }
  return text === '' ? '(top level)' : text;
}

/** A problem with a YAML file as a whole, at a position (1-based). */
export interface YamlFileIssue {
  line: number;
  column: number;
  /** `(file)` for the file as a whole, `(yaml)` for its syntax. */
  path: '(file)' | '(yaml)';
  message: string;
}

/** A YAML file parsed with positions (for `locate`), or why it could not be. */
export type ParsedYamlFile =
  | { ok: true; value: unknown; document: Document; lines: LineCounter }
  | { ok: false; issues: YamlFileIssue[] };

/**
 * Parses the text of a configuration file (policies, alert rules) the strict way both need: at
 * most `maxBytes`, YAML 1.2 core schema (`yes` and `on` stay strings), duplicate keys refused,
 * aliases expanded past 100 references refused (the "billion laughs" file), and an empty file
 * refused with what it should start with (`expectedTop`, e.g. `policies:`).
 */
export function parseYamlFile(text: string, maxBytes: number, expectedTop: string): ParsedYamlFile {
  const whole = (path: '(file)' | '(yaml)', message: string): ParsedYamlFile => ({
    ok: false,
    issues: [{ line: 1, column: 1, path, message }],
  });
  if (Buffer.byteLength(text) > maxBytes) return whole('(file)', `larger than ${maxBytes} bytes`);
  const lines = new LineCounter();
  const document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  if (document.errors.length > 0) {
    return {
      ok: false,
      issues: document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return { line, column: col, path: '(yaml)', message: error.message };
      }),
    };
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return whole('(yaml)', (error as Error).message);
  }
  if (value === null || value === undefined) {
    return whole('(file)', `the file is empty; expected "${expectedTop}"`);
  }
  return { ok: true, value, document, lines };
}
