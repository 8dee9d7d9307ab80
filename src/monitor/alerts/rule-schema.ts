import * as z from '../../util/zod.js';
import { parseDuration } from '../../util/duration.js';
import { aggregations, comparisons, severities, type AlertRule } from './rule.js';

/** Most rules in one set: each is evaluated on a timer, so the set stays small on purpose. */
export const maxRules = 500;
/** Longest rule or channel name. */
export const maxNameLength = 128;
/** Most channels one rule notifies. */
export const maxChannelsPerRule = 20;

/**
 * Bounds of each duration, in milliseconds. `window` and `every` stop at a day: the in-process
 * time series keeps no more, and a rule evaluated less than daily is not an alert. They go down
 * to a second for a series resolution shortened by config (`metrics.series_resolution_seconds`,
 * e.g. to try a rule); a window shorter than one slot reads that one slot.
 */
export const durationBounds = {
  window: { min: 1_000, max: 86_400_000 },
  every: { min: 1_000, max: 86_400_000 },
  for: { min: 0, max: 7 * 86_400_000 },
  repeat_interval: { min: 60_000, max: 30 * 86_400_000 },
} as const;

/** Default time between reminders while an alert keeps firing: 4 hours (Alertmanager's too). */
export const defaultRepeatIntervalMs = 4 * 3_600_000;

/** The keys a rule may have, in the order error messages list them. */
export const ruleKeys = [
  'name',
  'metric',
  'aggregation',
  'window',
  'every',
  'comparison',
  'threshold',
  'for',
  'severity',
  'channels',
  'repeat_interval',
  'summary',
  'description',
] as const;

// Control characters (newlines included) would forge lines in logs and in chat messages.
const controlCharacter = /\p{Cc}/u;
const namePattern = /^[A-Za-z0-9_.-]+$/;

const name = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(maxNameLength, `must be at most ${maxNameLength} characters`)
  .regex(namePattern, 'may hold only letters, digits, "_", "." and "-"');

const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .max(max, `must be at most ${max} characters`)
    .refine(
      (value) => !controlCharacter.test(value),
      'must be one line without control characters',
    );

/** Milliseconds of a written duration; `0`, `0s`, `0m`… when `allowZero`; undefined if invalid. */
export function durationMs(input: string | number, allowZero: boolean): number | undefined {
  if (typeof input === 'number') return input === 0 && allowZero ? 0 : undefined;
  // parseDuration refuses zero so that a TTL of 0 is never silently accepted; `for` wants it.
  if (allowZero && /^\s*0+[smhdw]?\s*$/.test(input)) return 0;
  return parseDuration(input);
}

function duration(field: keyof typeof durationBounds) {
  const { min, max } = durationBounds[field];
  const allowZero = min === 0;
  const example = allowZero ? '"0s" or "5m"' : '"5m"';
  return z
    .union([z.string(), z.number()], {
      error: `must be a duration such as ${example} (units s, m, h, d, w)`,
    })
    .transform((input, context) => {
      const ms = durationMs(input, allowZero);
      let problem: string | undefined;
      if (ms === undefined) {
        problem =
          typeof input === 'number'
            ? `needs a unit: write "${input}s" or "${input}m", not ${input}`
            : /^\s*0+[smhdw]?\s*$/.test(input)
              ? 'must be longer than 0'
              : `must be a duration such as ${example} (units s, m, h, d, w), not "${input}"`;
      } else if (ms < min || ms > max) {
        problem = `must be between ${describe(min)} and ${describe(max)}`;
      }
      if (problem === undefined) return ms ?? 0;
      context.issues.push({ code: 'custom', message: problem, input });
      return z.NEVER;
    });
}

function describe(ms: number): string {
  const units: ReadonlyArray<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const quoteHint = 'quote it in YAML, e.g. comparison: ">"';

/** One rule as written in the file (snake_case keys, durations as text). */
export const ruleSchema = z.strictObject(
  {
    name,
    metric: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(maxNameLength),
    aggregation: z.enum(aggregations, { error: `must be one of ${aggregations.join(', ')}` }),
    window: duration('window'),
    every: duration('every').optional(),
    comparison: z.enum(comparisons, {
      error: `must be one of ${comparisons.map((c) => `"${c}"`).join(', ')} (${quoteHint})`,
    }),
    threshold: z.number({ error: 'must be a finite number' }),
    for: duration('for').optional(),
    severity: z.enum(severities, { error: `must be one of ${severities.join(', ')}` }),
    channels: z
      .array(name, { error: 'must be a list of channel names, e.g. ["email", "sms"]' })
      .max(maxChannelsPerRule, `must list at most ${maxChannelsPerRule} channels`),
    repeat_interval: duration('repeat_interval').optional(),
    summary: text(200).optional(),
    description: z.string({ error: 'must be a string' }).max(2000).optional(),
  },
  {
    error:
      'a rule must be a mapping with name, metric, aggregation, window, comparison, threshold, ' +
      'severity and channels',
  },
);

/** The file: a mapping with one key, `rules`. */
export const rulesDocumentSchema = z.strictObject(
  {
    rules: z
      .array(ruleSchema, { error: 'must be a list of rules' })
      .max(maxRules, `must hold at most ${maxRules} rules`),
  },
  { error: 'the file must be a mapping with a "rules" list' },
);

export type WrittenRule = z.input<typeof ruleSchema>;

/**
 * Fills the defaults: `every` = `window` (each sample is seen by exactly one evaluation, and the
 * runbook's rules are written that way), `for` = 0 (fire at the first breaching evaluation),
 * `repeat_interval` = 4h.
 */
export function toAlertRule(parsed: z.output<typeof ruleSchema>, line: number): AlertRule {
  return {
    name: parsed.name,
    metric: parsed.metric,
    aggregation: parsed.aggregation,
    windowMs: parsed.window,
    everyMs: parsed.every ?? parsed.window,
    comparison: parsed.comparison,
    threshold: parsed.threshold,
    forMs: parsed.for ?? 0,
    severity: parsed.severity,
    channels: parsed.channels,
    repeatIntervalMs: parsed.repeat_interval ?? defaultRepeatIntervalMs,
    summary: parsed.summary,
    description: parsed.description,
    line,
  };
}
