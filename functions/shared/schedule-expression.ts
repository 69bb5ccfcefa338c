// Parses EventBridge rule and EventBridge Scheduler schedule expressions and computes when they fire, as AWS does.
//
// Sources: "Schedule expressions for rules" (EventBridge user guide, cron + rate reference) and "Schedule types on
// EventBridge Scheduler" (rate, cron, at, time zones, daylight saving time). Where those pages are silent we follow
// the Quartz cron semantics AWS's syntax is modelled on (1=SUN..7=SAT, `?`, `L`, `W`, `#`), and say so inline.

export type ScheduleExpressionField =
  | 'Expression'
  | 'Value'
  | 'Unit'
  | 'Minutes'
  | 'Hours'
  | 'Day-of-month'
  | 'Month'
  | 'Day-of-week'
  | 'Year'
  | 'Day'
  | 'Seconds';

/** Thrown for an expression AWS would reject; `field` names the part that is wrong. */
export class InvalidScheduleExpressionError extends Error {
  override readonly name = 'InvalidScheduleExpressionError';

  constructor(
    readonly expression: string,
    readonly field: ScheduleExpressionField,
    readonly reason: string,
  ) {
    super(`Invalid schedule expression "${expression}": ${field} ${reason}`);
  }
}

/** A local calendar date and time, in whatever time zone the schedule is evaluated in. */
export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export type RateUnit = 'minute' | 'hour' | 'day';

export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly value: number;
  readonly unit: RateUnit;
  readonly periodMs: number;
}

export interface AtSchedule {
  readonly kind: 'at';
  readonly expression: string;
  readonly wallClock: WallClock;
}

/** `unspecified` is `?`; day lists are sorted and deduplicated. */
export type DayOfMonthRule =
  | { readonly kind: 'unspecified' }
  | { readonly kind: 'days'; readonly days: readonly number[] }
  | { readonly kind: 'last' }
  | { readonly kind: 'lastWeekday' }
  | { readonly kind: 'nearestWeekday'; readonly day: number };

/** Weekdays are AWS numbers: 1 = Sunday … 7 = Saturday. */
export type DayOfWeekRule =
  | { readonly kind: 'unspecified' }
  | { readonly kind: 'days'; readonly days: readonly number[] }
  | { readonly kind: 'lastOfMonth'; readonly weekday: number }
  | { readonly kind: 'nthOfMonth'; readonly weekday: number; readonly nth: number };

export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly dayOfMonth: DayOfMonthRule;
  readonly months: readonly number[];
  readonly dayOfWeek: DayOfWeekRule;
  readonly years: readonly number[];
}

export type ScheduleExpression = RateSchedule | CronSchedule | AtSchedule;

export interface FireTimeOptions {
  /** IANA zone the cron or at() expression is evaluated in (ScheduleExpressionTimezone). @default 'UTC' */
  readonly timeZone?: string;
  /** Schedules fire on or after this instant; for rate() it is also the first occurrence. @default `after` */
  readonly startDate?: Date;
  /** Schedules fire on or before this instant. Ignored by at(), as AWS documents. @default no end */
  readonly endDate?: Date;
}

/** Raised by the field parsers; parseScheduleExpression adds the expression text to it. */
class FieldError extends Error {
  constructor(
    readonly field: ScheduleExpressionField,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const RATE_UNIT_MS: Readonly<Record<RateUnit, number>> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

const MONTH_NAMES: readonly string[] = 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC'.split(' ');
const WEEKDAY_NAMES: readonly string[] = 'SUN MON TUE WED THU FRI SAT'.split(' ');

interface FieldSpec {
  readonly field: ScheduleExpressionField;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Quartz reads a reversed range such as 22-2 or FRI-MON as wrapping round; that is meaningless for days and years. */
  readonly wraps: boolean;
}

const MINUTES: FieldSpec = { field: 'Minutes', min: 0, max: 59, wraps: true };
const HOURS: FieldSpec = { field: 'Hours', min: 0, max: 23, wraps: true };
const DAYS_OF_MONTH: FieldSpec = { field: 'Day-of-month', min: 1, max: 31, wraps: false };
const MONTHS: FieldSpec = { field: 'Month', min: 1, max: 12, names: MONTH_NAMES, wraps: true };
const DAYS_OF_WEEK: FieldSpec = { field: 'Day-of-week', min: 1, max: 7, names: WEEKDAY_NAMES, wraps: true };
const YEARS: FieldSpec = { field: 'Year', min: 1970, max: 2199, wraps: false };

/** Parses `rate(...)`, `cron(...)` or `at(...)`; throws InvalidScheduleExpressionError naming the bad field. */
export function parseScheduleExpression(expr: string): ScheduleExpression {
  const match = /^(rate|cron|at)\((.*)\)$/.exec(expr);
  const kind = match?.[1];
  const body = match?.[2];
  if (kind === undefined || body === undefined) {
    throw new InvalidScheduleExpressionError(
      expr,
      'Expression',
      'must be rate(value unit), cron(fields) or at(...)',
    );
  }
  try {
    if (kind === 'rate') return { kind, expression: expr, ...parseRate(body) };
    if (kind === 'cron') return { kind, expression: expr, ...parseCron(body) };
    return { kind: 'at', expression: expr, wallClock: parseAt(body) };
  } catch (error) {
    if (error instanceof FieldError)
      throw new InvalidScheduleExpressionError(expr, error.field, error.reason);
    throw error;
  }
}

function parseRate(body: string): Omit<RateSchedule, 'kind' | 'expression'> {
  const parts = body.trim().split(/\s+/);
  const [valueText, unitText] = parts;
  if (parts.length !== 2 || valueText === undefined || unitText === undefined) {
    throw new FieldError('Expression', 'must have exactly two fields: rate(value unit)');
  }
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1) {
    throw new FieldError('Value', `"${valueText}" must be a positive whole number`);
  }
  const value = Number(valueText);
  const unit = unitText.replace(/s$/, '');
  if (unit !== 'minute' && unit !== 'hour' && unit !== 'day') {
    throw new FieldError('Unit', `"${unitText}" must be minute(s), hour(s) or day(s)`);
  }
  // AWS enforces the grammar: rate(1 minutes) and rate(5 minute) are both rejected.
  const expected = value === 1 ? unit : `${unit}s`;
  if (unitText !== expected) {
    throw new FieldError('Unit', `"${unitText}" must be "${expected}" for a value of ${value}`);
  }
  return { value, unit, periodMs: value * RATE_UNIT_MS[unit] };
}

function parseAt(body: string): WallClock {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (match === null) {
    throw new FieldError('Expression', 'must be at(yyyy-mm-ddThh:mm:ss)');
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  ) {
    throw new FieldError('Expression', 'must be at(yyyy-mm-ddThh:mm:ss)');
  }
  const fail = (field: ScheduleExpressionField, reason: string): never => {
    throw new FieldError(field, reason);
  };
  if (month < 1 || month > 12) fail('Month', `${month} must be 01-12`);
  if (day < 1 || day > daysInMonth(year, month))
    fail('Day', `${day} does not exist in ${year}-${pad2(month)}`);
  if (hour > 23) fail('Hours', `${hour} must be 00-23`);
  if (minute > 59) fail('Minutes', `${minute} must be 00-59`);
  if (second > 59) fail('Seconds', `${second} must be 00-59`);
  return { year, month, day, hour, minute, second };
}

function parseCron(body: string): Omit<CronSchedule, 'kind' | 'expression'> {
  const fields = body.trim().split(/\s+/);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if (
    fields.length !== 6 ||
    minutes === undefined ||
    hours === undefined ||
    dayOfMonth === undefined ||
    month === undefined ||
    dayOfWeek === undefined ||
    year === undefined
  ) {
    throw new FieldError(
      'Expression',
      `must have six fields (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.length}`,
    );
  }
  const domRule = parseDayOfMonth(dayOfMonth.toUpperCase());
  const dowRule = parseDayOfWeek(dayOfWeek.toUpperCase());
  if (domRule.kind === 'unspecified' && dowRule.kind === 'unspecified') {
    throw new FieldError('Day-of-month', 'and Day-of-week cannot both be "?"');
  }
  if (domRule.kind !== 'unspecified' && dowRule.kind !== 'unspecified') {
    throw new FieldError('Day-of-week', 'must be "?" when Day-of-month is set (one of the two must be "?")');
  }
  return {
    minutes: parseValueList(minutes, MINUTES),
    hours: parseValueList(hours, HOURS),
    dayOfMonth: domRule,
    months: parseValueList(month.toUpperCase(), MONTHS),
    dayOfWeek: dowRule,
    years: parseValueList(year, YEARS),
  };
}

function parseDayOfMonth(text: string): DayOfMonthRule {
  if (text === '?') return { kind: 'unspecified' };
  if (text === 'L') return { kind: 'last' };
  if (text === 'LW') return { kind: 'lastWeekday' };
  const weekday = /^(\d+)W$/.exec(text)?.[1];
  if (weekday !== undefined) return { kind: 'nearestWeekday', day: parseValue(weekday, DAYS_OF_MONTH) };
  // Quartz does not implement L/W inside lists or ranges, nor offsets like L-3; AWS documents neither, so reject.
  if (/[LW]/.test(text)) {
    throw new FieldError('Day-of-month', `"${text}": L, LW and nW (e.g. 3W) must stand alone in the field`);
  }
  return { kind: 'days', days: parseValueList(text, DAYS_OF_MONTH) };
}

function parseDayOfWeek(text: string): DayOfWeekRule {
  if (text === '?') return { kind: 'unspecified' };
  // A bare L in Day-of-week is "the last day of the week", i.e. Saturday.
  if (text === 'L') return { kind: 'days', days: [7] };
  if (text.includes('#')) {
    const match = /^([^#,]+)#(\d+)$/.exec(text);
    const weekday = match?.[1];
    const nth = Number(match?.[2]);
    if (weekday === undefined) {
      throw new FieldError(
        'Day-of-week',
        `"${text}": a # expression must stand alone (e.g. 3#2); lists such as 3#1,6#3 are not allowed`,
      );
    }
    if (nth < 1 || nth > 5) {
      throw new FieldError('Day-of-week', `"${text}": the number after # must be 1-5`);
    }
    return { kind: 'nthOfMonth', weekday: parseValue(weekday, DAYS_OF_WEEK), nth };
  }
  const lastOf = /^([^L,\-/]+)L$/.exec(text)?.[1];
  if (lastOf !== undefined) return { kind: 'lastOfMonth', weekday: parseValue(lastOf, DAYS_OF_WEEK) };
  if (text.includes('L')) {
    throw new FieldError('Day-of-week', `"${text}": L must stand alone or follow one day (6L)`);
  }
  // The English reference lists no "/" for Day-of-week (some translations do); we follow the English page.
  if (text.includes('/')) {
    throw new FieldError('Day-of-week', `"${text}": the / increment is not allowed here`);
  }
  return { kind: 'days', days: parseValueList(text, DAYS_OF_WEEK) };
}

/** `,` lists of `*`, `a`, `a-b`, each optionally `/step` (Quartz: `a/step` runs from a to the field's maximum). */
function parseValueList(text: string, spec: FieldSpec): number[] {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [base, stepText, extra] = item.split('/');
    if (base === undefined || base === '' || extra !== undefined) {
      throw new FieldError(spec.field, `"${text}" is not a valid list`);
    }
    const step = stepText === undefined ? 1 : parseStep(stepText, spec);
    let from: number;
    let to: number;
    if (base === '*') {
      from = spec.min;
      to = spec.max;
    } else if (base.includes('-')) {
      const [fromText, toText, rest] = base.split('-');
      if (fromText === undefined || toText === undefined || rest !== undefined) {
        throw new FieldError(spec.field, `"${base}" is not a valid range`);
      }
      from = parseValue(fromText, spec);
      to = parseValue(toText, spec);
      if (from > to && !spec.wraps) {
        throw new FieldError(spec.field, `range "${base}" runs backwards`);
      }
    } else {
      from = parseValue(base, spec);
      to = stepText === undefined ? from : spec.max;
    }
    const span = spec.max - spec.min + 1;
    const length = ((to - from + span) % span) + 1;
    for (let offset = 0; offset < length; offset += step) {
      values.add(spec.min + ((from - spec.min + offset) % span));
    }
  }
  return [...values].sort((a, b) => a - b);
}

function parseStep(text: string, spec: FieldSpec): number {
  const step = Number(text);
  if (!/^\d+$/.test(text) || step < 1 || step > spec.max - spec.min + 1) {
    throw new FieldError(spec.field, `increment "/${text}" must be 1-${spec.max - spec.min + 1}`);
  }
  return step;
}

function parseValue(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text) ?? -1;
  if (named >= 0) return named + 1;
  const value = Number(text);
  if (!/^\d+$/.test(text)) {
    const hint = spec.names === undefined ? '' : ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}`;
    throw new FieldError(spec.field, `"${text}" is not a number${hint} (allowed ${spec.min}-${spec.max})`);
  }
  if (value < spec.min || value > spec.max) {
    throw new FieldError(spec.field, `${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

/**
 * The first fire time strictly after `after`, or undefined if the schedule never fires again.
 * Cron and at() are read in `opts.timeZone`; rate() is a fixed duration ("1 day" is 24 hours even across DST,
 * per AWS) counted from `opts.startDate`, which defaults to `after`, so the first run is one period later.
 */
export function nextFireTime(
  s: ScheduleExpression,
  after: Date,
  opts: FireTimeOptions = {},
): Date | undefined {
  const afterMs = validInstant(after, 'after');
  const startMs = opts.startDate === undefined ? undefined : validInstant(opts.startDate, 'startDate');
  const endMs = opts.endDate === undefined ? Number.POSITIVE_INFINITY : validInstant(opts.endDate, 'endDate');
  const zone = timeZone(opts.timeZone ?? 'UTC');
  switch (s.kind) {
    case 'at':
      return nextAt(s, { afterMs, zone });
    case 'rate':
      return nextRate(s, { afterMs, startMs: startMs ?? afterMs, endMs });
    case 'cron':
      // "On or after startDate" is the same as "strictly after the millisecond before it".
      return nextCron(s, { afterMs: Math.max(afterMs, (startMs ?? afterMs) - 1), endMs, zone });
  }
}

function validInstant(date: Date, name: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${name} is an invalid Date`);
  return ms;
}

function nextAt(s: AtSchedule, { afterMs, zone }: { afterMs: number; zone: TimeZone }): Date | undefined {
  // AWS documents what cron does in DST gaps, not at(); a one-time schedule that silently never fires would be
  // worse than a late one, so a skipped local time fires when the clock resumes (the offset before the gap).
  // A repeated local time fires at its first occurrence, matching how we treat cron.
  const fireMs = zone.instantsOf(s.wallClock)[0] ?? zone.instantBeforeGap(s.wallClock);
  return fireMs > afterMs ? new Date(fireMs) : undefined;
}

function nextRate(
  s: RateSchedule,
  { afterMs, startMs, endMs }: { afterMs: number; startMs: number; endMs: number },
): Date | undefined {
  const periodsElapsed = startMs > afterMs ? 0 : Math.floor((afterMs - startMs) / s.periodMs) + 1;
  const fireMs = startMs + periodsElapsed * s.periodMs;
  return fireMs <= endMs ? new Date(fireMs) : undefined;
}

function nextCron(
  s: CronSchedule,
  { afterMs, endMs, zone }: { afterMs: number; endMs: number; zone: TimeZone },
): Date | undefined {
  for (const local of wallClocksFrom(s, zone.wallClockAt(afterMs))) {
    // AWS Scheduler: a local time skipped when clocks go forward does not fire; one repeated when they go back
    // fires once. We fire at its first occurrence and never at the repeat, even if the first was before `after`.
    const fireMs = zone.instantsOf(local)[0];
    if (fireMs === undefined) continue;
    // Earliest instants grow with wall-clock time, so once past the end nothing later can qualify.
    if (fireMs > endMs) return undefined;
    if (fireMs > afterMs) return new Date(fireMs);
  }
  return undefined;
}

/**
 * Every wall-clock minute matching the cron, in order, from the minute containing `from`. Years stop at 2199 and
 * each month's days are computed directly, so even an impossible cron such as 30 FEB finishes in a few
 * thousand cheap steps.
 */
function* wallClocksFrom(s: CronSchedule, from: WallClock): Generator<WallClock> {
  for (const year of s.years) {
    if (year < from.year) continue;
    const inFromYear = year === from.year;
    for (const month of s.months) {
      if (inFromYear && month < from.month) continue;
      const inFromMonth = inFromYear && month === from.month;
      for (const day of matchingDays(s, calendarMonth(year, month))) {
        if (inFromMonth && day < from.day) continue;
        const onFromDay = inFromMonth && day === from.day;
        for (const hour of s.hours) {
          if (onFromDay && hour < from.hour) continue;
          const inFromHour = onFromDay && hour === from.hour;
          for (const minute of s.minutes) {
            if (inFromHour && minute < from.minute) continue;
            yield { year, month, day, hour, minute, second: 0 };
          }
        }
      }
    }
  }
}

/** What the day rules need to know about one month. Weekdays are AWS numbers, 1 = Sunday … 7 = Saturday. */
interface CalendarMonth {
  readonly lastDay: number;
  readonly firstWeekday: number;
}

function calendarMonth(year: number, month: number): CalendarMonth {
  return {
    lastDay: daysInMonth(year, month),
    firstWeekday: new Date(Date.UTC(year, month - 1, 1)).getUTCDay() + 1,
  };
}

function weekdayIn(m: CalendarMonth, day: number): number {
  return ((m.firstWeekday - 1 + day - 1) % 7) + 1;
}

function matchingDays(s: CronSchedule, m: CalendarMonth): number[] {
  const dom = s.dayOfMonth;
  switch (dom.kind) {
    case 'days':
      return dom.days.filter((day) => day <= m.lastDay);
    case 'last':
      return [m.lastDay];
    case 'lastWeekday':
      return [nearestWeekday(m, m.lastDay)];
    case 'nearestWeekday':
      // Like a plain 31 in a 30-day month, a W day the month lacks does not fire that month.
      return dom.day <= m.lastDay ? [nearestWeekday(m, dom.day)] : [];
    case 'unspecified':
      break;
  }
  const dow = s.dayOfWeek;
  const firstDayWith = (weekday: number) => 1 + ((weekday - m.firstWeekday + 7) % 7);
  switch (dow.kind) {
    case 'days': {
      const days: number[] = [];
      for (let day = 1; day <= m.lastDay; day++) {
        if (dow.days.includes(weekdayIn(m, day))) days.push(day);
      }
      return days;
    }
    case 'lastOfMonth': {
      const first = firstDayWith(dow.weekday);
      return [first + 7 * Math.floor((m.lastDay - first) / 7)];
    }
    case 'nthOfMonth': {
      const day = firstDayWith(dow.weekday) + 7 * (dow.nth - 1);
      return day <= m.lastDay ? [day] : [];
    }
    case 'unspecified':
      return [];
  }
}

/** The weekday nearest `day` without leaving the month (Quartz: 1W on a Saturday is Monday the 3rd). */
function nearestWeekday(m: CalendarMonth, day: number): number {
  const weekday = weekdayIn(m, day);
  if (weekday === 7) return day === 1 ? day + 2 : day - 1;
  if (weekday === 1) return day === m.lastDay ? day - 2 : day + 1;
  return day;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Epoch milliseconds of a wall clock read as if it were UTC; setUTCFullYear keeps years below 100 literal. */
function wallClockAsUtc(w: WallClock): number {
  const date = new Date(0);
  date.setUTCFullYear(w.year, w.month - 1, w.day);
  date.setUTCHours(w.hour, w.minute, w.second, 0);
  return date.getTime();
}

interface TimeZone {
  wallClockAt(ms: number): WallClock;
  /** Every instant showing this wall clock: none in a DST gap, two when clocks go back, ascending. */
  instantsOf(w: WallClock): number[];
  /** For a wall clock inside a DST gap: read it with the offset in force before the gap. */
  instantBeforeGap(w: WallClock): number;
}

const UTC_ZONE: TimeZone = {
  wallClockAt(ms) {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  },
  instantsOf: (w) => [wallClockAsUtc(w)],
  instantBeforeGap: (w) => wallClockAsUtc(w),
};

const zones = new Map<string, TimeZone>();

function timeZone(name: string): TimeZone {
  if (name === 'UTC') return UTC_ZONE;
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new RangeError(`Unknown time zone "${name}"; expected an IANA name such as "Europe/London"`);
  }
  const zone = intlTimeZone(format);
  zones.set(name, zone);
  return zone;
}

function intlTimeZone(format: Intl.DateTimeFormat): TimeZone {
  const wallClockAt = (ms: number): WallClock => {
    const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of format.formatToParts(ms)) {
      const value = Number(part.value);
      switch (part.type) {
        case 'year':
        case 'month':
        case 'day':
        case 'minute':
        case 'second':
          fields[part.type] = value;
          break;
        case 'hour':
          // Some ICU versions print midnight as 24 even with hourCycle h23.
          fields.hour = value % 24;
          break;
      }
    }
    return fields;
  };
  const offsetAt = (ms: number) => wallClockAsUtc(wallClockAt(ms)) - Math.floor(ms / 1000) * 1000;
  return {
    wallClockAt,
    instantsOf(w) {
      const asUtc = wallClockAsUtc(w);
      // Real zones never change offset twice within two days, so the offsets a day either side cover every
      // reading of this wall clock.
      const offsets = new Set([offsetAt(asUtc - DAY_MS), offsetAt(asUtc), offsetAt(asUtc + DAY_MS)]);
      const instants = [...offsets]
        .map((offset) => asUtc - offset)
        .filter((ms) => offsetAt(ms) === asUtc - ms);
      return [...new Set(instants)].sort((a, b) => a - b);
    },
    instantBeforeGap(w) {
      const asUtc = wallClockAsUtc(w);
      return asUtc - offsetAt(asUtc - DAY_MS);
    },
  };
}

/** A short English description, for logs and the local admin UI. */
export function describeSchedule(s: ScheduleExpression): string {
  switch (s.kind) {
    case 'rate':
      return s.value === 1 ? `every ${s.unit}` : `every ${s.value} ${s.unit}s`;
    case 'at': {
      const w = s.wallClock;
      return `once at ${w.year}-${pad2(w.month)}-${pad2(w.day)} ${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)}`;
    }
    case 'cron':
      return [describeTime(s), describeDays(s), describeMonths(s), describeYears(s)]
        .filter((part) => part !== '')
        .join(', ');
  }
}

function describeTime(s: CronSchedule): string {
  const [minute] = s.minutes;
  const [hour] = s.hours;
  if (s.minutes.length === 1 && s.hours.length === 1 && minute !== undefined && hour !== undefined) {
    return `at ${pad2(hour)}:${pad2(minute)}`;
  }
  const minutes = s.minutes.length === 60 ? 'every minute' : `at minute ${s.minutes.join(',')}`;
  const hours = s.hours.length === 24 ? 'of every hour' : `past hour ${s.hours.join(',')}`;
  return `${minutes} ${hours}`;
}

function describeDays(s: CronSchedule): string {
  const dom = s.dayOfMonth;
  const dow = s.dayOfWeek;
  const weekdayName = (weekday: number) => WEEKDAY_NAMES[weekday - 1] ?? String(weekday);
  switch (dom.kind) {
    case 'days':
      return dom.days.length === 31 ? 'every day' : `on day ${dom.days.join(',')} of the month`;
    case 'last':
      return 'on the last day of the month';
    case 'lastWeekday':
      return 'on the last weekday of the month';
    case 'nearestWeekday':
      return `on the weekday nearest day ${dom.day} of the month`;
    case 'unspecified':
      break;
  }
  switch (dow.kind) {
    case 'days':
      return dow.days.length === 7 ? 'every day' : `on ${dow.days.map(weekdayName).join(',')}`;
    case 'lastOfMonth':
      return `on the last ${weekdayName(dow.weekday)} of the month`;
    case 'nthOfMonth':
      return `on ${weekdayName(dow.weekday)} #${dow.nth} of the month`;
    case 'unspecified':
      return '';
  }
}

function describeMonths(s: CronSchedule): string {
  return s.months.length === 12 ? '' : `in ${s.months.map((m) => MONTH_NAMES[m - 1] ?? String(m)).join(',')}`;
}

function describeYears(s: CronSchedule): string {
  return s.years.length === YEARS.max - YEARS.min + 1 ? '' : `in ${s.years.join(',')}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
