import type { OpenedRepository } from './open-repository.js';
import type { Snapshot } from './repository.js';

/** How long a listing may take before the caller is told the repository is unavailable. */
const listTimeoutMs = 10_000;

/**
 * Reads the backup repository's snapshots for the admin API, through one repository opened on
 * first use (read-only: it stores no data key) and kept until `close`, since an open lists and
 * unwraps every data key in the object store. An open that
 * failed (object store unreachable, wrong master key) is forgotten, so the next call tries again;
 * snapshots written later by other processes are read with the data keys they name.
 */
export class SnapshotCatalog {
  private opened: Promise<OpenedRepository> | undefined;

  constructor(private readonly open: () => Promise<OpenedRepository>) {}

  /**
   * The newest `limit` snapshots, newest first (`BackupRepository.newestSnapshots`). Rejects when
   * the repository cannot be opened or read, or does not answer within 10 s.
   */
  async newest(
    limit: number,
  ): Promise<{ snapshots: Snapshot[]; more: boolean; unreadable: string[] }> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the backup repository did not answer in ${listTimeoutMs} ms`)),
        listTimeoutMs,
      );
    });
    try {
      return await Promise.race([this.read(limit), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the repository, if one was opened. */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    const repository = await opened?.catch(() => undefined);
    await repository?.close();
  }

  private async read(
    limit: number,
  ): Promise<{ snapshots: Snapshot[]; more: boolean; unreadable: string[] }> {
    const opening = (this.opened ??= this.open());
    let opened: OpenedRepository;
    try {
      opened = await opening;
    } catch (error) {
      if (this.opened === opening) this.opened = undefined;
      throw error;
    }
    return opened.repository.newestSnapshots(limit);
  }
}
