import type { Dispatcher } from 'undici';
import type { ReadTextFile } from './secret-value.js';

/** The edges a notifier touches, injectable so tests need no monkey-patching. */
export interface NotifierDeps {
  /**
   * Replaces a robot's or webhook's connection pool (tests). The URL is still checked against
   * private and metadata addresses; the connect-time DNS check is the pool's, so it is skipped.
   */
  dispatcher?: Dispatcher | undefined;
  /** Milliseconds since the epoch, for signature timestamps and `Retry-After` dates. */
  clock?: (() => number) | undefined;
  /** Reads `*_file` secrets and `ca_file` (default: the file system, UTF-8). */
  readFile?: ReadTextFile | undefined;
}
