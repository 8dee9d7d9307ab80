import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../util/ids.js';
import { SerialRunner } from '../../util/serial-runner.js';
import { watchFiles } from '../../util/watch-files.js';
import { defaultPolicies } from './default-policy.js';
import { maxPolicyFileBytes, parsePolicyText, PolicyFileError } from './document.js';
import {
  compilePolicies,
  type AccessRequest,
  type CompiledPolicies,
  type Decision,
} from './evaluate.js';

export interface PolicySetOptions {
  /**
   * The policy file. Undefined: the built-in default policies (see default-policy.ts), which
   * never change, so nothing is watched.
   */
  path?: string | undefined;
  logger: Logger;
  /** Reload when the file changes (default true when `path` is set). */
  watch?: boolean;
  /** Quiet time after the last file event before reloading, in milliseconds (default 250). */
  debounceMs?: number;
  /** Timestamps of events; milliseconds since the epoch. */
  clock?: Clock;
}

/** What a reload did. */
export type PolicySetEvent =
  | { type: 'loaded'; source: string; digest: string; statements: number; at: number }
  | { type: 'unchanged'; source: string; digest: string; at: number }
  | { type: 'rejected'; source: string; error: PolicyFileError; keptDigest: string; at: number };

type Listener = (event: PolicySetEvent) => void;

/**
 * The policies in force, reloadable while the server runs. A reload parses the whole file and
 * swaps it in with one assignment, only when it is valid: an invalid or unreadable file is
 * logged with its line and reason and the previous policies stay in force. Evaluation never
 * waits for a reload.
 *
 * The file is watched through its directory, not itself: editors that save by writing a new file
 * and renaming it over the old one (vim, most IDEs) and Kubernetes ConfigMap updates (a `..data`
 * symlink swap) replace the inode a file watch would be following. `reload()` is also the
 * SIGHUP handler.
 */
export class PolicySet {
  private active: CompiledPolicies;
  private readonly listeners = new Set<Listener>();
  private readonly reloads = new SerialRunner<PolicySetEvent>();
  private stopWatching: (() => void) | undefined;

  private constructor(
    private readonly options: PolicySetOptions,
    initial: CompiledPolicies,
  ) {
    this.active = initial;
  }

  /**
   * Loads the policies. An invalid file throws `PolicyFileError` here (the server must not start
   * with policies it cannot read); later reloads never throw.
   */
  static async load(options: PolicySetOptions): Promise<PolicySet> {
    const { path, logger } = options;
    if (path === undefined) {
      logger.info('no policy file configured: using the built-in default policies');
      return new PolicySet(options, defaultPolicies());
    }
    const initial = compilePolicies(parsePolicyText(await readPolicyFile(path), path));
    logPolicies(logger, initial, 'loaded policies');
    const set = new PolicySet(options, initial);
    if (options.watch !== false) set.startWatching(path);
    return set;
  }

  /** The policies in force now. */
  get current(): CompiledPolicies {
    return this.active;
  }

  evaluate(request: AccessRequest): Decision {
    return this.active.evaluate(request);
  }

  /** Calls `listener` after every reload; returns the function that stops it. */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the file again and swaps it in when it is valid and changed. Never rejects. Calls made
   * while a reload runs share one follow-up reload, so the last write to the file always wins.
   */
  reload(): Promise<PolicySetEvent> {
    return this.reloads.run(() => this.reloadOnce());
  }

  /** Stops watching; the policies in force stay usable. */
  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private async reloadOnce(): Promise<PolicySetEvent> {
    const { path, logger } = this.options;
    const at = this.now();
    const previous = this.active;
    if (path === undefined) {
      return this.emit({ type: 'unchanged', source: previous.source, digest: previous.digest, at });
    }
    try {
      const text = await readPolicyFile(path);
      const next = compilePolicies(parsePolicyText(text, path));
      if (next.digest === previous.digest) {
        logger.debug({ policies: path }, 'policy file unchanged');
        return this.emit({ type: 'unchanged', source: path, digest: next.digest, at });
      }
      this.active = next;
      logPolicies(logger, next, 'reloaded policies');
      return this.emit({
        type: 'loaded',
        source: path,
        digest: next.digest,
        statements: next.statementCount,
        at,
      });
    } catch (caught) {
      const error =
        caught instanceof PolicyFileError
          ? caught
          : new PolicyFileError(path, [], `cannot reload policies: ${String(caught)}`);
      logger.error(
        { policies: path, issues: error.issues, keptDigest: previous.digest },
        `${error.message}\nthe previous policies stay in force`,
      );
      return this.emit({ type: 'rejected', source: path, error, keptDigest: previous.digest, at });
    }
  }

  private startWatching(path: string): void {
    this.stopWatching = watchFiles([path], {
      logger: this.options.logger,
      what: 'the policy file',
      debounceMs: this.options.debounceMs,
      onChange: () => void this.reload(),
    });
  }

  private emit(event: PolicySetEvent): PolicySetEvent {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'policy event listener failed');
      }
    }
    return event;
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}

function logPolicies(logger: Logger, policies: CompiledPolicies, message: string): void {
  logger.info(
    { policies: policies.source, statements: policies.statementCount, digest: policies.digest },
    message,
  );
  for (const warning of policies.warnings) {
    logger.warn(
      { policies: policies.source, line: warning.line, column: warning.column },
      `policy warning: ${warning.path}: ${warning.message}`,
    );
  }
}

/**
 * Reads a policy file as UTF-8, refusing one larger than `maxPolicyFileBytes` before reading it.
 * Errors become `PolicyFileError`s that say what went wrong.
 */
export async function readPolicyFile(path: string): Promise<string> {
  const tooLarge = () =>
    new PolicyFileError(path, [], `policy file ${path} is larger than ${maxPolicyFileBytes} bytes`);
  try {
    if ((await stat(path)).size > maxPolicyFileBytes) throw tooLarge();
    const bytes = await readFile(path);
    // The file may have grown between stat and read.
    if (bytes.length > maxPolicyFileBytes) throw tooLarge();
    return bytes.toString('utf8');
  } catch (error) {
    if (error instanceof PolicyFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : String(error);
    throw new PolicyFileError(path, [], `cannot read policy file ${path}: ${why}`);
  }
}
