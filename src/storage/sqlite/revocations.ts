import type Database from 'better-sqlite3';

/** How long a server's remembered answers may lag a revocation made by another process. */
export const revocationRecheckMs = 10;

/**
 * Answers "is this token revoked?" from memory, at most 10 ms behind the table.
 *
 * Every statement on a WAL database opens a read transaction, which takes and drops a read lock
 * on the `-shm` file (`fcntl` calls): the lookup took 4–5 µs alone and about 11 µs a request in
 * a loaded server, and a read after 10 ms of other work up to 45 µs (both under the profiler).
 * So answers are remembered, and forgotten whenever another connection (the CLI, another
 * process) committed anything: `PRAGMA data_version` changes then. It is read at most once every
 * `recheckMs` (10), shared by every request authenticated meanwhile (read once per event-loop
 * turn, it still cost about 7 µs a request: under load most turns authenticate one request).
 * Revocations made through this connection update the answers directly (data_version does not
 * count a connection's own commits). A revocation by another process counts for requests
 * authenticated from 10 ms after its commit; `assistd tokens revoke` waits that long before it
 * returns, so a token it revoked is refused by the time it has exited.
 */
export class RevocationList {
  private readonly known = new Map<string, boolean>();
  private readonly lookup: Database.Statement<[string], { one: number }>;
  private readonly dataVersion: Database.Statement<[], number>;
  private version: number | undefined;
  private checkedAt = -Infinity;

  /** `max`: answers remembered at most (default 10,000), the oldest forgotten first. */
  constructor(
    db: Database.Database,
    private readonly max = 10_000,
    private readonly recheckMs = revocationRecheckMs,
  ) {
    this.lookup = db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM revoked_tokens WHERE id = ?',
    );
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** Remembered answers now (never more than `max`). */
  get size(): number {
    return this.known.size;
  }

  isRevoked(id: string): boolean {
    this.forgetIfChanged();
    let revoked = this.known.get(id);
    if (revoked === undefined) {
      revoked = this.lookup.get(id) !== undefined;
      this.remember(id, revoked);
    }
    return revoked;
  }

  /** Called after this connection committed a revocation. */
  revoked(id: string): void {
    this.known.delete(id);
    this.remember(id, true);
  }

  private remember(id: string, revoked: boolean): void {
    if (this.known.size >= this.max) {
      this.known.delete(this.known.keys().next().value!);
    }
    this.known.set(id, revoked);
  }

  private forgetIfChanged(): void {
    const now = performance.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    const version = this.dataVersion.get()!;
    if (version !== this.version) {
      this.version = version;
      this.known.clear();
    }
  }
}
