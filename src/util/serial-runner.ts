/**
 * Runs tasks one at a time. A call made while one runs does not start a second run at once: all
 * such calls share one follow-up run that starts when the current one ends, so the last change
 * (to a reloaded file, say) always wins and no more than two runs are ever pending.
 */
export class SerialRunner<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  run(task: () => Promise<T>): Promise<T> {
    if (this.running) {
      this.queued ??= this.running.then(() => {
        this.queued = undefined;
        return this.run(task);
      });
      return this.queued;
    }
    const run = task().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
