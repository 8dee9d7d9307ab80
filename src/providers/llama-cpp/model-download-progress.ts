import { formatBytes } from '../../util/format-bytes.js';

/** Where progress goes: a terminal gets a bar redrawn in place, anything else a few plain lines. */
export interface ProgressSink {
  write: (text: string) => void;
  isTTY: boolean;
}

/** A terminal bar is redrawn at most this often; plain lines come at most this often. */
const redrawMs = 100;
const lineMs = 10_000;

/** Renders progress: a bar redrawn in place on a terminal, a line every 10 s elsewhere. */
export class Progress {
  private startedAt = 0;
  private startBytes = 0;
  private total: number | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private barShown = false;

  constructor(
    private readonly sink: ProgressSink | undefined,
    private readonly now: () => number,
  ) {}

  line(text: string): void {
    this.close();
    this.sink?.write(`${text}\n`);
  }

  begin(bytes: number, total: number | undefined): void {
    this.startedAt = this.now();
    this.startBytes = bytes;
    this.total = total;
    this.lastDraw = this.sink?.isTTY === true ? Number.NEGATIVE_INFINITY : this.startedAt;
  }

  update(bytes: number, last = false): void {
    if (this.sink === undefined) return;
    const time = this.now();
    if (!last && time - this.lastDraw < (this.sink.isTTY ? redrawMs : lineMs)) return;
    this.lastDraw = time;
    if (this.sink.isTTY) {
      this.sink.write(`\r\x1b[K${this.describe(bytes, time, true)}`);
      this.barShown = true;
    } else {
      this.sink.write(`${this.describe(bytes, time, false)}\n`);
    }
  }

  finish(bytes: number): void {
    this.update(bytes, true);
    this.close();
  }

  /** Ends a bar's line so the next message starts on its own. */
  close(): void {
    if (this.barShown) this.sink?.write('\n');
    this.barShown = false;
  }

  private describe(bytes: number, time: number, bar: boolean): string {
    const seconds = (time - this.startedAt) / 1000;
    const rate = seconds > 0 ? `  ${formatBytes((bytes - this.startBytes) / seconds)}/s` : '';
    if (this.total === undefined || this.total === 0) return `${formatBytes(bytes)}${rate}`;
    const fraction = Math.min(1, bytes / this.total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const filled = Math.round(fraction * 24);
    const drawn = bar ? `[${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ` : '';
    return `${drawn}${percent}  ${formatBytes(bytes)} / ${formatBytes(this.total)}${rate}`;
  }
}
