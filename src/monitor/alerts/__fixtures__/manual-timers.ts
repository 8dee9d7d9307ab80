import type { Cancel, Timers } from '../timers.js';

interface Task {
  at: number;
  seq: number;
  callback: () => void;
}

/** Lets queued promise callbacks run (a real macrotask turn; no time passes on the manual clock). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A clock and timers driven by the test: `advance(ms)` runs every timer due on the way, in order,
 * moving the clock to each one's time and letting promises settle after it, so async chains
 * (retries, rate-limit waits) run as they would in real time, without waiting.
 */
export class ManualTimers implements Timers {
  now: number;
  private tasks: Task[] = [];
  private seq = 0;

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  after(delayMs: number, callback: () => void): Cancel {
    const task: Task = { at: this.now + Math.max(0, delayMs), seq: this.seq++, callback };
    this.tasks.push(task);
    return () => {
      this.tasks = this.tasks.filter((other) => other !== task);
    };
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.tasks.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    await settle();
    for (;;) {
      const next = this.tasks
        .filter((task) => task.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.tasks = this.tasks.filter((task) => task !== next);
      this.now = Math.max(this.now, next.at);
      next.callback();
      await settle();
    }
    this.now = target;
    await settle();
  }
}
