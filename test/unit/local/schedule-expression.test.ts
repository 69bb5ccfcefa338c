// Checks that local schedules parse and fire exactly as the EventBridge and EventBridge Scheduler guides document.
import { describe, expect, it } from 'vitest';
import {
  describeSchedule,
  type FireTimeOptions,
  InvalidScheduleExpressionError,
  nextFireTime,
  parseScheduleExpression,
} from '../../../lib/local/schedule-expression.ts';

function next(expression: string, after: string, opts?: FireTimeOptions): string | undefined {
  return nextFireTime(parseScheduleExpression(expression), new Date(after), opts)?.toISOString();
}

/** The fire times that follow `after`, one after another, as a running emulator would see them. */
function fireSequence(expression: string, after: string, count: number, opts?: FireTimeOptions): string[] {
  const schedule = parseScheduleExpression(expression);
  const fires: string[] = [];
  let cursor = new Date(after);
  for (let i = 0; i < count; i++) {
    const fire = nextFireTime(schedule, cursor, opts);
    if (fire === undefined) break;
    fires.push(fire.toISOString());
    cursor = fire;
  }
  return fires;
}

function rejectionOf(expression: string): InvalidScheduleExpressionError {
  try {
    parseScheduleExpression(expression);
  } catch (error) {
    if (error instanceof InvalidScheduleExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${expression} to be rejected`);
}

describe('rate expressions', () => {
  it.each([
    ['rate(1 minute)', 1, 'minute'],
    ['rate(5 minutes)', 5, 'minutes'],
    ['rate(1 hour)', 1, 'hour'],
    ['rate(2 hours)', 2, 'hours'],
    ['rate(1 day)', 1, 'day'],
    ['rate(7 days)', 7, 'days'],
  ])('%s is accepted and fires every %i %s', (expression, value, unit) => {
    const schedule = parseScheduleExpression(expression);

    expect(schedule).toMatchObject({ kind: 'rate', value, unit: unit.replace(/s$/, '') });
  });

  it.each([
    ['rate(1 minutes)', 'Unit'],
    ['rate(5 minute)', 'Unit'],
    ['rate(1 hours)', 'Unit'],
    ['rate(5 hour)', 'Unit'],
    ['rate(2 weeks)', 'Unit'],
    ['rate(0 minutes)', 'Value'],
    ['rate(-5 minutes)', 'Value'],
    ['rate(1.5 hours)', 'Value'],
    ['rate(5minutes)', 'Expression'],
    ['rate(5 minutes', 'Expression'],
  ])('%s is rejected for its %s', (expression, field) => {
    expect(rejectionOf(expression).field).toBe(field);
  });

  it('without a start date first fires one period after the given instant', () => {
    expect(next('rate(5 minutes)', '2024-05-01T10:00:00Z')).toBe('2024-05-01T10:05:00.000Z');
  });

  it('with a start date fires on whole periods counted from that start', () => {
    const startDate = new Date('2024-05-01T10:00:00Z');

    expect(fireSequence('rate(15 minutes)', '2024-05-01T10:12:00Z', 2, { startDate })).toEqual([
      '2024-05-01T10:15:00.000Z',
      '2024-05-01T10:30:00.000Z',
    ]);
  });

  it('whose start date is still ahead fires first at the start date', () => {
    const startDate = new Date('2024-05-02T00:00:00Z');

    expect(next('rate(1 hour)', '2024-05-01T10:00:00Z', { startDate })).toBe('2024-05-02T00:00:00.000Z');
  });

  it('of one day stays exactly 24 hours apart across a daylight saving change', () => {
    const opts = { timeZone: 'America/New_York', startDate: new Date('2024-03-09T17:00:00Z') };

    expect(next('rate(1 day)', '2024-03-09T17:00:00Z', opts)).toBe('2024-03-10T17:00:00.000Z');
  });

  it('may fire exactly on its end date and never after it', () => {
    const opts = { startDate: new Date('2024-05-01T10:00:00Z'), endDate: new Date('2024-05-01T11:00:00Z') };

    expect(next('rate(1 hour)', '2024-05-01T10:30:00Z', opts)).toBe('2024-05-01T11:00:00.000Z');
    expect(next('rate(1 hour)', '2024-05-01T11:00:00Z', opts)).toBeUndefined();
  });
});

describe('cron examples from the EventBridge guide', () => {
  it.each([
    ['cron(0 10 * * ? *)', '2024-05-01T09:59:59Z', '2024-05-01T10:00:00.000Z', '10:00 UTC every day'],
    ['cron(0 10 * * ? *)', '2024-05-01T10:00:00Z', '2024-05-02T10:00:00.000Z', '10:00 UTC every day'],
    ['cron(15 12 * * ? *)', '2024-05-01T12:15:00Z', '2024-05-02T12:15:00.000Z', '12:15 UTC every day'],
    ['cron(0 18 ? * MON-FRI *)', '2024-05-03T18:00:00Z', '2024-05-06T18:00:00.000Z', '18:00 Monday-Friday'],
    ['cron(0 8 1 * ? *)', '2024-05-01T08:00:00Z', '2024-06-01T08:00:00.000Z', '08:00 on the 1st'],
    ['cron(0/15 * * * ? *)', '2024-05-01T10:07:30Z', '2024-05-01T10:15:00.000Z', 'every 15 minutes'],
    ['cron(0/15 * * * ? *)', '2024-05-01T10:45:00Z', '2024-05-01T11:00:00.000Z', 'every 15 minutes'],
    [
      'cron(0/10 * ? * MON-FRI *)',
      '2024-05-03T23:50:00Z',
      '2024-05-06T00:00:00.000Z',
      'every 10 min on weekdays',
    ],
    [
      'cron(0/5 8-17 ? * MON-FRI *)',
      '2024-05-01T07:59:00Z',
      '2024-05-01T08:00:00.000Z',
      'every 5 min 08:00-17:55',
    ],
    [
      'cron(0/5 8-17 ? * MON-FRI *)',
      '2024-05-01T17:55:00Z',
      '2024-05-02T08:00:00.000Z',
      'every 5 min 08:00-17:55',
    ],
    ['cron(0 9 ? * 2#1 *)', '2024-05-06T09:00:00Z', '2024-06-03T09:00:00.000Z', '09:00 on the first Monday'],
    ['cron(1/10 * * * ? *)', '2024-05-01T10:05:00Z', '2024-05-01T10:11:00.000Z', 'minutes 1, 11, 21, ...'],
  ])('%s after %s fires at %s (%s)', (expression, after, expected) => {
    expect(next(expression, after)).toBe(expected);
  });
});

describe('cron special characters', () => {
  it('L in Day-of-month fires on the last day, including 29 February in a leap year', () => {
    expect(next('cron(0 0 L * ? *)', '2024-02-01T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(next('cron(0 0 L * ? *)', '2023-02-01T00:00:00Z')).toBe('2023-02-28T00:00:00.000Z');
  });

  it('3W fires on Monday the 4th when the 3rd is a Sunday', () => {
    expect(next('cron(0 0 3W * ? *)', '2024-03-01T00:00:00Z')).toBe('2024-03-04T00:00:00.000Z');
  });

  it('15W fires on Friday the 14th when the 15th is a Saturday', () => {
    expect(next('cron(0 0 15W * ? *)', '2024-06-01T00:00:00Z')).toBe('2024-06-14T00:00:00.000Z');
  });

  it('1W on a Saturday stays inside the month and fires on Monday the 3rd', () => {
    expect(next('cron(0 0 1W * ? *)', '2024-05-31T00:00:00Z')).toBe('2024-06-03T00:00:00.000Z');
  });

  it('LW fires on the last weekday when the month ends on a Saturday', () => {
    expect(next('cron(0 0 LW * ? *)', '2024-08-01T00:00:00Z')).toBe('2024-08-30T00:00:00.000Z');
  });

  it('6L fires on the last Friday of the month', () => {
    expect(next('cron(15 10 ? * 6L 2024-2025)', '2024-05-01T00:00:00Z')).toBe('2024-05-31T10:15:00.000Z');
  });

  it('L alone in Day-of-week means Saturday, the last day of the week', () => {
    expect(next('cron(0 0 ? * L *)', '2024-05-01T00:00:00Z')).toBe('2024-05-04T00:00:00.000Z');
  });

  it('2#5 skips months that have no fifth Monday', () => {
    expect(next('cron(0 0 ? * 2#5 *)', '2024-05-01T00:00:00Z')).toBe('2024-07-29T00:00:00.000Z');
  });

  it('weekday 1 is Sunday and 7 is Saturday, not the Unix 0-6', () => {
    expect(next('cron(0 0 ? * 1 *)', '2024-05-01T00:00:00Z')).toBe('2024-05-05T00:00:00.000Z');
    expect(next('cron(0 0 ? * 7 *)', '2024-05-01T00:00:00Z')).toBe('2024-05-04T00:00:00.000Z');
  });

  it('month and weekday names mean the same as their numbers, in any letter case', () => {
    expect(next('cron(0 0 1 JUL,DEC ? *)', '2024-05-01T00:00:00Z')).toBe('2024-07-01T00:00:00.000Z');
    expect(next('cron(0 0 1 7,12 ? *)', '2024-05-01T00:00:00Z')).toBe('2024-07-01T00:00:00.000Z');
    expect(next('cron(0 0 ? * sat *)', '2024-05-01T00:00:00Z')).toBe('2024-05-04T00:00:00.000Z');
  });

  it('*/20 in Minutes steps from minute 0', () => {
    expect(next('cron(*/20 * * * ? *)', '2024-05-01T10:41:00Z')).toBe('2024-05-01T11:00:00.000Z');
  });

  it('a reversed range such as FRI-MON wraps round the week, as in Quartz', () => {
    expect(fireSequence('cron(0 12 ? * FRI-MON *)', '2024-05-01T00:00:00Z', 5)).toEqual([
      '2024-05-03T12:00:00.000Z',
      '2024-05-04T12:00:00.000Z',
      '2024-05-05T12:00:00.000Z',
      '2024-05-06T12:00:00.000Z',
      '2024-05-10T12:00:00.000Z',
    ]);
  });
});

describe('cron schedules that end or can never fire', () => {
  it('cron(0 0 30 FEB ? *) never fires and says so quickly', { timeout: 2_000 }, () => {
    expect(next('cron(0 0 30 FEB ? *)', '1970-01-01T00:00:00Z')).toBeUndefined();
    expect(
      next('cron(0 0 30 FEB ? *)', '1970-01-01T00:00:00Z', { timeZone: 'Europe/Berlin' }),
    ).toBeUndefined();
  });

  it('the 31st of a 30-day month never fires', () => {
    expect(next('cron(0 0 31 APR,JUN,SEP,NOV ? *)', '2024-01-01T00:00:00Z')).toBeUndefined();
  });

  it('a cron limited to past years never fires again', () => {
    expect(next('cron(0 0 * * ? 2020-2023)', '2024-01-01T00:00:00Z')).toBeUndefined();
  });

  it('a cron limited to a future year waits for it', () => {
    expect(next('cron(0 0 1 1 ? 2030)', '2024-05-01T00:00:00Z')).toBe('2030-01-01T00:00:00.000Z');
  });

  it('nothing fires after 2199, the last year AWS accepts', () => {
    expect(next('cron(0 0 * * ? *)', '2199-12-31T00:00:00Z')).toBeUndefined();
  });

  it('does not fire before its start date but may fire exactly on it', () => {
    const startDate = new Date('2024-05-10T10:00:00Z');

    expect(next('cron(0 10 * * ? *)', '2024-05-01T00:00:00Z', { startDate })).toBe(
      '2024-05-10T10:00:00.000Z',
    );
  });

  it('may fire exactly on its end date and never after it', () => {
    const endDate = new Date('2024-05-02T10:00:00Z');

    expect(next('cron(0 10 * * ? *)', '2024-05-01T10:00:00Z', { endDate })).toBe('2024-05-02T10:00:00.000Z');
    expect(next('cron(0 10 * * ? *)', '2024-05-02T10:00:00Z', { endDate })).toBeUndefined();
  });
});

describe('invalid cron expressions', () => {
  it.each([
    ['cron(0 10 * * ?)', 'Expression'],
    ['cron(0 10 * * ? * *)', 'Expression'],
    ['cron(0 10 * * * *)', 'Day-of-week'],
    ['cron(0 10 ? * ? *)', 'Day-of-month'],
    ['cron(60 * * * ? *)', 'Minutes'],
    ['cron(? * * * ? *)', 'Minutes'],
    ['cron(0/0 * * * ? *)', 'Minutes'],
    ['cron(0 24 * * ? *)', 'Hours'],
    ['cron(0 0 0 * ? *)', 'Day-of-month'],
    ['cron(0 0 32 * ? *)', 'Day-of-month'],
    ['cron(0 0 20-10 * ? *)', 'Day-of-month'],
    ['cron(0 0 1W,15 * ? *)', 'Day-of-month'],
    ['cron(0 0 L-2 * ? *)', 'Day-of-month'],
    ['cron(0 0 1 13 ? *)', 'Month'],
    ['cron(0 0 1 JANUARY ? *)', 'Month'],
    ['cron(0 0 ? * 0 *)', 'Day-of-week'],
    ['cron(0 0 ? * 8 *)', 'Day-of-week'],
    ['cron(0 0 ? * 3#1,6#3 *)', 'Day-of-week'],
    ['cron(0 0 ? * 2#6 *)', 'Day-of-week'],
    ['cron(0 0 ? * MON,6L *)', 'Day-of-week'],
    ['cron(0 0 ? * 1/2 *)', 'Day-of-week'],
    ['cron(0 0 * * ? 1969)', 'Year'],
    ['cron(0 0 * * ? 2200)', 'Year'],
    ['cron(0 0 * * ? 2030-2025)', 'Year'],
    ['CRON(0 10 * * ? *)', 'Expression'],
    ['hourly', 'Expression'],
    ['', 'Expression'],
  ])('%s is rejected for its %s', (expression, field) => {
    expect(rejectionOf(expression).field).toBe(field);
  });

  it('names the expression and the offending field in the error message', () => {
    expect(rejectionOf('cron(0 25 * * ? *)').message).toBe(
      'Invalid schedule expression "cron(0 25 * * ? *)": Hours 25 is outside 0-23',
    );
  });
});

describe('at expressions', () => {
  it('fires once at the given time, read as UTC by default', () => {
    expect(next('at(2024-06-01T09:00:00)', '2024-05-01T00:00:00Z')).toBe('2024-06-01T09:00:00.000Z');
  });

  it('never fires again once its time has come', () => {
    expect(next('at(2024-06-01T09:00:00)', '2024-06-01T09:00:00Z')).toBeUndefined();
  });

  it("is read in the schedule's time zone", () => {
    const opts = { timeZone: 'America/New_York' };

    expect(next('at(2024-06-01T09:00:00)', '2024-05-01T00:00:00Z', opts)).toBe('2024-06-01T13:00:00.000Z');
  });

  it('ignores start and end dates, as AWS does for one-time schedules', () => {
    const opts = { startDate: new Date('2025-01-01T00:00:00Z'), endDate: new Date('2024-05-02T00:00:00Z') };

    expect(next('at(2024-06-01T09:00:00)', '2024-05-01T00:00:00Z', opts)).toBe('2024-06-01T09:00:00.000Z');
  });

  it('at a local time skipped by a DST change fires when the clock resumes', () => {
    const opts = { timeZone: 'America/New_York' };

    expect(next('at(2024-03-10T02:30:00)', '2024-03-01T00:00:00Z', opts)).toBe('2024-03-10T07:30:00.000Z');
  });

  it.each([
    ['at(2023-02-29T10:00:00)', 'Day'],
    ['at(2024-13-01T00:00:00)', 'Month'],
    ['at(2024-01-01T24:00:00)', 'Hours'],
    ['at(2024-01-01T10:60:00)', 'Minutes'],
    ['at(2024-01-01T10:00:60)', 'Seconds'],
    ['at(2024-01-01 10:00:00)', 'Expression'],
    ['at(2024-01-01T10:00)', 'Expression'],
  ])('%s is rejected for its %s', (expression, field) => {
    expect(rejectionOf(expression).field).toBe(field);
  });
});

describe('cron in a time zone', () => {
  it('fires at the local time in a zone half an hour off UTC', () => {
    const opts = { timeZone: 'Asia/Kolkata' };

    expect(next('cron(0 10 * * ? *)', '2024-05-01T00:00:00Z', opts)).toBe('2024-05-01T04:30:00.000Z');
  });

  it('follows British Summer Time in Europe/London', () => {
    const opts = { timeZone: 'Europe/London' };

    expect(next('cron(0 9 * * ? *)', '2024-01-15T00:00:00Z', opts)).toBe('2024-01-15T09:00:00.000Z');
    expect(next('cron(0 9 * * ? *)', '2024-07-15T00:00:00Z', opts)).toBe('2024-07-15T08:00:00.000Z');
  });

  it('skips a local time that does not exist when clocks go forward', () => {
    const opts = { timeZone: 'America/New_York' };

    expect(next('cron(30 2 * * ? *)', '2024-03-09T08:00:00Z', opts)).toBe('2024-03-11T06:30:00.000Z');
  });

  it('fires only once at a local time that happens twice when clocks go back', () => {
    const opts = { timeZone: 'America/New_York' };

    expect(fireSequence('cron(30 1 * * ? *)', '2024-11-02T12:00:00Z', 2, opts)).toEqual([
      '2024-11-03T05:30:00.000Z',
      '2024-11-04T06:30:00.000Z',
    ]);
  });

  it('runs a half-hourly cron straight through the missing spring hour', () => {
    const opts = { timeZone: 'America/New_York' };

    expect(fireSequence('cron(0/30 * * * ? *)', '2024-03-10T05:59:00Z', 4, opts)).toEqual([
      '2024-03-10T06:00:00.000Z',
      '2024-03-10T06:30:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-10T07:30:00.000Z',
    ]);
  });

  it('does not repeat a half-hourly cron during the repeated autumn hour', () => {
    const opts = { timeZone: 'America/New_York' };

    expect(fireSequence('cron(0/30 * * * ? *)', '2024-11-03T03:59:00Z', 6, opts)).toEqual([
      '2024-11-03T04:00:00.000Z',
      '2024-11-03T04:30:00.000Z',
      '2024-11-03T05:00:00.000Z',
      '2024-11-03T05:30:00.000Z',
      '2024-11-03T07:00:00.000Z',
      '2024-11-03T07:30:00.000Z',
    ]);
  });

  it('skips the missing hour in the southern hemisphere spring too', () => {
    const opts = { timeZone: 'Australia/Sydney' };

    expect(next('cron(30 2 * * ? *)', '2024-10-05T00:00:00Z', opts)).toBe('2024-10-06T15:30:00.000Z');
  });

  it('rejects an unknown time zone', () => {
    const schedule = parseScheduleExpression('cron(0 10 * * ? *)');

    expect(() => nextFireTime(schedule, new Date(), { timeZone: 'Mars/Olympus_Mons' })).toThrow(RangeError);
  });
});

describe('describeSchedule', () => {
  it.each([
    ['rate(1 hour)', 'every hour'],
    ['rate(5 minutes)', 'every 5 minutes'],
    ['at(2024-06-01T09:00:00)', 'once at 2024-06-01 09:00:00'],
    ['cron(0 18 ? * MON-FRI *)', 'at 18:00, on MON,TUE,WED,THU,FRI'],
    ['cron(0 0 L * ? 2025)', 'at 00:00, on the last day of the month, in 2025'],
    ['cron(0/30 * * JAN ? *)', 'at minute 0,30 of every hour, every day, in JAN'],
  ])('describes %s as "%s"', (expression, description) => {
    expect(describeSchedule(parseScheduleExpression(expression))).toBe(description);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property-style checks: random valid crons, built from field sets chosen first, so the expected sets and the
// day rule below never come from the parser under test.

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const intBetween = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface RandomField {
  readonly text: string;
  readonly values: ReadonlySet<number>;
}

function randomField(
  random: Random,
  { min, max, names, steps }: { min: number; max: number; names?: readonly string[]; steps: boolean },
): RandomField {
  const show = (v: number) =>
    names !== undefined && random() < 0.5 ? (names[v - 1] ?? String(v)) : String(v);
  const inclusive = (from: number, to: number, step = 1) => {
    const values = new Set<number>();
    for (let v = from; v <= to; v += step) values.add(v);
    return values;
  };
  const a = intBetween(random, min, max);
  const b = intBetween(random, a, max);
  const step = intBetween(random, 1, Math.max(1, Math.floor((max - min) / 2)));
  switch (intBetween(random, 0, steps ? 6 : 3)) {
    case 0:
      return { text: '*', values: inclusive(min, max) };
    case 1:
      return { text: show(a), values: new Set([a]) };
    case 2: {
      const c = intBetween(random, min, max);
      return { text: `${show(a)},${show(c)}`, values: new Set([a, c]) };
    }
    case 3:
      return { text: `${show(a)}-${show(b)}`, values: inclusive(a, b) };
    case 4:
      return { text: `${a}/${step}`, values: inclusive(a, max, step) };
    case 5:
      return { text: `${a}-${b}/${step}`, values: inclusive(a, b, step) };
    default:
      return { text: `*/${step}`, values: inclusive(min, max, step) };
  }
}

interface CalendarDay {
  readonly day: number;
  readonly weekday: number;
  readonly firstWeekday: number;
  readonly lastDay: number;
}

const isWeekday = (weekday: number) => weekday >= 2 && weekday <= 6;

/** AWS weekday (1 = Sunday) of day `day` in a month whose first day has AWS weekday `first`. */
const weekdayOfDay = (first: number, day: number) => ((first - 1 + day - 1) % 7) + 1;

function randomDayRule(random: Random): { dom: string; dow: string; matches: (d: CalendarDay) => boolean } {
  if (random() < 0.5) {
    const weekday = intBetween(random, 1, 7);
    const kind = intBetween(random, 0, 3);
    if (kind === 0) {
      const nth = intBetween(random, 1, 5);
      return {
        dom: '?',
        dow: `${weekday}#${nth}`,
        matches: (d) => d.weekday === weekday && Math.ceil(d.day / 7) === nth,
      };
    }
    if (kind === 1) {
      return { dom: '?', dow: `${weekday}L`, matches: (d) => d.weekday === weekday && d.day + 7 > d.lastDay };
    }
    const field = randomField(random, { min: 1, max: 7, names: WEEKDAYS, steps: false });
    return { dom: '?', dow: field.text, matches: (d) => field.values.has(d.weekday) };
  }
  const kind = intBetween(random, 0, 4);
  if (kind === 0) return { dom: 'L', dow: '?', matches: (d) => d.day === d.lastDay };
  if (kind === 1) {
    // The last weekday: a weekday with only weekend days after it.
    return {
      dom: 'LW',
      dow: '?',
      matches: (d) => isWeekday(d.weekday) && d.lastDay - d.day <= (d.weekday === 6 ? 2 : 0),
    };
  }
  if (kind === 2) {
    const target = intBetween(random, 1, 31);
    // The weekday inside the month closest to the target day.
    return {
      dom: `${target}W`,
      dow: '?',
      matches: (d) => {
        if (target > d.lastDay || !isWeekday(d.weekday)) return false;
        for (let other = 1; other <= d.lastDay; other++) {
          const closer = Math.abs(other - target) < Math.abs(d.day - target);
          if (closer && isWeekday(weekdayOfDay(d.firstWeekday, other))) return false;
        }
        return true;
      },
    };
  }
  const field = randomField(random, { min: 1, max: 31, steps: true });
  return { dom: field.text, dow: '?', matches: (d) => field.values.has(d.day) };
}

interface RandomCron {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number> | 'any';
  readonly day: (d: CalendarDay) => boolean;
}

function randomCron(random: Random): RandomCron {
  const minutes = randomField(random, { min: 0, max: 59, steps: true });
  const hours = randomField(random, { min: 0, max: 23, steps: true });
  const months = randomField(random, { min: 1, max: 12, names: MONTHS, steps: true });
  const day = randomDayRule(random);
  const firstYear = intBetween(random, 2020, 2035);
  const lastYear = intBetween(random, firstYear, firstYear + 5);
  const years: RandomCron['years'] =
    random() < 0.7
      ? 'any'
      : new Set(Array.from({ length: lastYear - firstYear + 1 }, (_, i) => firstYear + i));
  const yearText = years === 'any' ? '*' : `${firstYear}-${lastYear}`;
  return {
    expression: `cron(${minutes.text} ${hours.text} ${day.dom} ${months.text} ${day.dow} ${yearText})`,
    minutes: minutes.values,
    hours: hours.values,
    months: months.values,
    years,
    day: day.matches,
  };
}

interface CivilTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function calendarDay(year: number, month: number, day: number): CalendarDay {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay() + 1;
  return {
    day,
    weekday: weekdayOfDay(firstWeekday, day),
    firstWeekday,
    lastDay: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

function matchesCron(cron: RandomCron, t: CivilTime): boolean {
  return (
    t.second === 0 &&
    cron.minutes.has(t.minute) &&
    cron.hours.has(t.hour) &&
    cron.months.has(t.month) &&
    (cron.years === 'any' || cron.years.has(t.year)) &&
    cron.day(calendarDay(t.year, t.month, t.day))
  );
}

/** Brute-force reference in UTC: walk the calendar day by day for up to 40 years. */
function referenceNextUtc(cron: RandomCron, after: Date): number | undefined {
  const sortedHours = [...cron.hours].sort((a, b) => a - b);
  const sortedMinutes = [...cron.minutes].sort((a, b) => a - b);
  for (let year = after.getUTCFullYear(); year <= after.getUTCFullYear() + 40; year++) {
    if (cron.years !== 'any' && !cron.years.has(year)) continue;
    for (let month = 1; month <= 12; month++) {
      if (!cron.months.has(month)) continue;
      const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
      for (let day = 1; day <= lastDay; day++) {
        if (!cron.day(calendarDay(year, month, day))) continue;
        for (const hour of sortedHours) {
          for (const minute of sortedMinutes) {
            const t = Date.UTC(year, month - 1, day, hour, minute);
            if (t > after.getTime()) return t;
          }
        }
      }
    }
  }
  return undefined;
}

function civilTimeIn(timeZone: string, date: Date): CivilTime {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour') % 24,
    minute: part('minute'),
    second: part('second'),
  };
}

function randomInstant(random: Random): Date {
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2030, 0, 1);
  // Whole seconds, sometimes exactly on a minute, so "strictly after" is exercised at the boundary.
  const seconds = Math.floor((from + random() * (to - from)) / 1000);
  return new Date((random() < 0.3 ? seconds - (seconds % 60) : seconds) * 1000);
}

describe('random valid crons', () => {
  it('in UTC fire at exactly the first matching minute strictly after the given instant', () => {
    const random = seededRandom(0x5eed);
    let fired = 0;
    for (let i = 0; i < 400; i++) {
      const cron = randomCron(random);
      const after = randomInstant(random);
      const label = `${cron.expression} after ${after.toISOString()}`;

      const fire = nextFireTime(parseScheduleExpression(cron.expression), after);

      expect(fire?.getTime(), label).toBe(referenceNextUtc(cron, after));
      if (fire === undefined) continue;
      fired++;
      expect(fire.getTime(), label).toBeGreaterThan(after.getTime());
      expect(matchesCron(cron, civilTimeIn('UTC', fire)), label).toBe(true);
    }
    // Guards against a generator that only ever produces schedules that never fire.
    expect(fired).toBeGreaterThan(300);
  });

  it('in DST time zones fire later and later, on matching local times, never twice at one local time', () => {
    const random = seededRandom(0xc0ffee);
    const zones = [
      'America/New_York',
      'Europe/Berlin',
      'Australia/Sydney',
      'Asia/Kolkata',
      'America/Santiago',
    ];
    let fired = 0;
    for (let i = 0; i < 150; i++) {
      const cron = randomCron(random);
      const timeZone = zones[i % zones.length] ?? 'UTC';
      const schedule = parseScheduleExpression(cron.expression);
      let cursor = randomInstant(random);
      const seen = new Set<string>();
      for (let n = 0; n < 5; n++) {
        const label = `${cron.expression} in ${timeZone} after ${cursor.toISOString()}`;

        const fire = nextFireTime(schedule, cursor, { timeZone });

        if (fire === undefined) break;
        fired++;
        const local = civilTimeIn(timeZone, fire);
        const localKey = JSON.stringify(local);
        expect(fire.getTime(), label).toBeGreaterThan(cursor.getTime());
        expect(matchesCron(cron, local), `${label} fired at local ${localKey}`).toBe(true);
        expect(seen.has(localKey), `${label} repeated local ${localKey}`).toBe(false);
        seen.add(localKey);
        cursor = fire;
      }
    }
    expect(fired).toBeGreaterThan(500);
  });
});
