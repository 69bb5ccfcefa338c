// KPI use cases behind the handlers: count one domain event, roll days up, build a report, check a requested range.
import { DateTime, IANAZone } from 'luxon';
import * as z from 'zod';
import type { CounterStore } from './counter-store.ts';
import { countersFor, mergeIncrements, type WorkspaceSettings } from './counters.ts';
import type { KpiDayStore } from './day-store.ts';
import { kpiDedupeKey, kpiInputsFrom } from './inputs.ts';
import {
  DEFAULT_REFERENCE_VALUES,
  daysBetween,
  type GroupBy,
  type KpiReport,
  kpiReport,
  lifetimeTotals,
} from './query.ts';
import { rollupDay } from './rollup.ts';

export interface KpiSettings extends WorkspaceSettings {
  readonly currency: string;
}

/** The KPI settings of a function's environment: KPI_TIME_ZONE (IANA, default UTC), KPI_CURRENCY (default USD). */
export const kpiEnvironment = {
  KPI_TIME_ZONE: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as Europe/Amsterdam')
    .default('UTC'),
  KPI_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .default('USD'),
};

/** The longest range the API reports or recomputes at once (a little over a year, to compare year on year). */
export const MAX_RANGE_DAYS = 400;
/** A day is final this long after it ended: late events (clients retrying, offline apps) have arrived by then. */
export const FINAL_AFTER_HOURS = 2;
/** Days recomputed side by side (each reads 8 counter shards). */
const ROLLUP_CONCURRENCY = 8;

/**
 * Counts one domain event exactly once: its KPI inputs become counter increments applied under its dedupe key.
 * Throws (zod) when a consumed event does not match its catalogue schema.
 */
export async function recordKpiEvent(input: {
  readonly counters: CounterStore;
  readonly settings: KpiSettings;
  readonly detailType: string;
  readonly detail: unknown;
}): Promise<{ readonly inputs: number; readonly applied: boolean }> {
  const { counters, settings, detailType, detail } = input;
  const inputs = kpiInputsFrom(detailType, detail);
  if (inputs.length === 0) return { inputs: 0, applied: false };
  const increments = mergeIncrements(inputs.flatMap((kpiInput) => countersFor(kpiInput, settings)));
  const { applied } = await counters.apply({ dedupeKey: kpiDedupeKey(detailType, detail), increments });
  return { inputs: inputs.length, applied };
}

/** Yesterday and today in the zone: the days whose counters can still change hour by hour. */
export function openDays(now: Date, timeZone: string): [string, string] {
  const today = DateTime.fromJSDate(now).setZone(timeZone).startOf('day');
  const yesterday = today.minus({ days: 1 }).toISODate();
  const todayDay = today.toISODate();
  if (yesterday === null || todayDay === null) throw new RangeError(`unknown time zone ${timeZone}`);
  return [yesterday, todayDay];
}

/** Whether a day ended (midnight in the zone) more than FINAL_AFTER_HOURS before `now`. */
export function isFinal(input: {
  readonly day: string;
  readonly now: Date;
  readonly timeZone: string;
}): boolean {
  const end = DateTime.fromISO(input.day, { zone: input.timeZone }).plus({ days: 1 });
  if (!end.isValid) throw new RangeError(`cannot place ${input.day} in ${input.timeZone}`);
  return input.now.getTime() >= end.plus({ hours: FINAL_AFTER_HOURS }).toMillis();
}

/**
 * Recomputes each day of [from, to] from its counters and stores it. Idempotent: the same counters write the same
 * item. Returns the number of days written.
 */
export async function rollUpDays(input: {
  readonly counters: CounterStore;
  readonly days: KpiDayStore;
  readonly from: string;
  readonly to: string;
  readonly now: Date;
  readonly timeZone: string;
}): Promise<number> {
  const { counters, days, now, timeZone } = input;
  const range = daysBetween(input.from, input.to);
  let next = 0;
  const workers = Array.from({ length: Math.min(ROLLUP_CONCURRENCY, range.length) }, async () => {
    while (next < range.length) {
      const day = range[next++];
      if (day === undefined) continue;
      const rolled = rollupDay(await counters.readDay(day));
      await days.putDay({ day: rolled, final: isFinal({ day, now, timeZone }) });
    }
  });
  await Promise.all(workers);
  return range.length;
}

/**
 * The report of [from, to]: rolled-up days (missing days are empty), costs and reference values from the store,
 * lifetime value from every day up to `to`.
 */
export async function reportFor(input: {
  readonly days: KpiDayStore;
  readonly from: string;
  readonly to: string;
  readonly groupBy: GroupBy;
}): Promise<KpiReport> {
  const { from, to, groupBy } = input;
  // One Query reads the range and the history before it that lifetime value needs.
  const [stored, costs, reference] = await Promise.all([
    input.days.getDays({ from: null, to }),
    input.days.getCosts(),
    input.days.getReference(),
  ]);
  const all = stored.map((entry) => entry.day);
  return kpiReport({
    days: all.filter((day) => day.day >= from),
    from,
    to,
    groupBy,
    costs,
    reference: reference ?? DEFAULT_REFERENCE_VALUES,
    lifetime: lifetimeTotals(all),
  });
}

/** Why a requested range cannot be served, or null when it can: real days, from ≤ to, at most MAX_RANGE_DAYS. */
export function rangeProblem(from: unknown, to: unknown): string | null {
  const valid = (value: unknown): value is string =>
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    DateTime.fromISO(value, { zone: 'utc' }).isValid;
  if (!valid(from) || !valid(to)) return 'from and to must be dates YYYY-MM-DD';
  if (from > to) return 'from must not be after to';
  const days =
    DateTime.fromISO(to, { zone: 'utc' }).diff(DateTime.fromISO(from, { zone: 'utc' }), 'days').days + 1;
  if (days > MAX_RANGE_DAYS) return `a range covers at most ${MAX_RANGE_DAYS} days (this one has ${days})`;
  return null;
}
