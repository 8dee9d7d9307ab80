/**
 * A five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC:
 * `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists `a,b`. Day of week 0 or 7 is
 * Sunday. When both day fields are restricted, a day matching either runs (as in cron).
 */
export class CronSchedule {
  private readonly fields: Array<Set<number>>;
  private readonly restrictedDay: boolean;
  private readonly restrictedWeekday: boolean;

  constructor(readonly expression: string) {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 5) {
      throw new Error(
        `cron expression "${expression}" needs 5 fields: minute hour day month weekday`,
      );
    }
    const bounds: Array<[number, number]> = [
      [0, 59],
      [0, 23],
      [1, 31],
      [1, 12],
      [0, 7],
    ];
    this.fields = parts.map((part, index) => parseField(part, ...bounds[index]!, expression));
    const weekdays = this.fields[4]!;
    if (weekdays.has(7)) weekdays.add(0);
    this.restrictedDay = parts[2] !== '*';
    this.restrictedWeekday = parts[4] !== '*';
  }

  /** The first matching minute strictly after `after` (ms since the epoch, UTC). */
  next(after: number): number {
    const start = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
    for (let minute = 0; minute < 366 * 24 * 60 * 5; minute++) {
      const time = new Date(start.getTime() + minute * 60_000);
      if (this.matches(time)) return time.getTime();
    }
    throw new Error(`cron expression "${this.expression}" never matches`);
  }

  private matches(time: Date): boolean {
    const [minutes, hours, days, months, weekdays] = this.fields as [
      Set<number>,
      Set<number>,
      Set<number>,
      Set<number>,
      Set<number>,
    ];
    if (!minutes.has(time.getUTCMinutes()) || !hours.has(time.getUTCHours())) return false;
    if (!months.has(time.getUTCMonth() + 1)) return false;
    const day = days.has(time.getUTCDate());
    const weekday = weekdays.has(time.getUTCDay());
    if (this.restrictedDay && this.restrictedWeekday) return day || weekday;
    return day && weekday;
  }
}

function parseField(part: string, min: number, max: number, expression: string): Set<number> {
  const values = new Set<number>();
  const bad = () => new Error(`cron expression "${expression}": cannot read "${part}"`);
  for (const item of part.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw bad();
    const from = match[1] === '*' ? min : Number(match[2]);
    const to =
      match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] ? max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < min || to > max || from > to || step < 1) throw bad();
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}
