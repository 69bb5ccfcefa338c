// The KPI report: rolled-up days summed over a range and grouped, ratios computed from summed parts, and its CSV.
import { DateTime } from 'luxon';
import { SOCIAL_CHANNELS } from './counters.ts';
import { EMAIL_OUTCOMES, type EmailOutcome } from './inputs.ts';
import {
  type CostEntry,
  type DayCosts,
  dailyCosts,
  emptyKpiDay,
  emptySlice,
  type JourneyCounts,
  type KpiDay,
  type KpiSlice,
  type Money,
} from './rollup.ts';
import { twoProportionPValue } from './significance.ts';

export const GROUP_BYS = ['none', 'day', 'channel', 'campaign', 'landingPage'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

/** Figures from the field shown beside ours (issue #7); a workspace may configure its own. */
export interface ReferenceValues {
  readonly trafficToLeadRatio: { readonly low: number; readonly high: number };
  readonly landingPageConversionRate: { readonly typical: number };
}
export const DEFAULT_REFERENCE_VALUES: ReferenceValues = {
  trafficToLeadRatio: { low: 0.07, high: 0.09 },
  landingPageConversionRate: { typical: 0.1 },
};

/** A ratio per currency; null where its denominator is 0. */
export type MoneyRatio = Record<string, number | null>;

/** Figures of one slice of traffic: the whole, one day, or one channel, campaign or landing page. */
export interface SliceFigures {
  visitors: number;
  sessions: number;
  pageViews: number;
  /** Sessions of the slice / all sessions of the range. */
  shareOfTraffic: number | null;
  newLeads: number;
  trafficToLeadRatio: number | null;
  /** New leads / sessions: per landing page, the landing-page conversion rate of KPIS.md. */
  landingPageConversionRate: number | null;
  mql: number;
  sql: number;
  sal: number;
  mqlToSql: number | null;
  sqlToSal: number | null;
  orders: number;
  newCustomers: number;
  cost: Money;
  costPerLead: MoneyRatio;
  marketingRoi: MoneyRatio;
}

/** A channel, campaign or landing page: its revenue by first touch and by last touch (the order's session). */
export interface DimensionFigures extends SliceFigures {
  revenue: { firstTouch: Money; lastTouch: Money };
}

/** The whole traffic of a range or a day. */
export interface KpiFigures extends SliceFigures {
  organicSearchSessions: number;
  socialReach: { visitors: number; sessions: number; shareOfTraffic: number | null };
  mobileShare: { sessions: number | null; newLeads: number | null; newCustomers: number | null };
  revenue: { total: Money; firstTouch: Record<string, Money>; lastTouch: Record<string, Money> };
  /** Revenue / paying profiles, per currency (paying profiles summed over days, see docs/kpis.md). */
  customerValue: MoneyRatio;
}

export type EmailFigures = Record<EmailOutcome, number> & {
  bounced: number;
  rates: {
    bounced: number | null;
    hardBounced: number | null;
    softBounced: number | null;
    complaints: number | null;
    unsubscribed: number | null;
    opened: number | null;
    humanOpened: number | null;
    clicked: number | null;
  };
};

export interface VariantFigures {
  entered: number;
  goal: number;
  conversionRate: number | null;
  /** Two-sided p-value of this variant against the journey's other variants pooled. */
  pValue: number | null;
}

export interface JourneyFigures {
  entered: number;
  goal: number;
  conversionRate: number | null;
  variants: Record<string, VariantFigures>;
}

/** All-time revenue and customers per currency (sum of every rolled-up day up to the report's end). */
export interface LifetimeTotals {
  readonly revenue: Money;
  readonly customers: Money;
}

export interface KpiReport {
  from: string;
  to: string;
  groupBy: GroupBy;
  reference: ReferenceValues;
  totals: KpiFigures;
  rows: Array<({ key: string } & KpiFigures) | ({ key: string } & DimensionFigures)>;
  /** All-time revenue per customer, per currency; null when no lifetime totals were given. */
  lifetimeValue: MoneyRatio | null;
  email: EmailFigures;
  journeys: Record<string, JourneyFigures>;
}

export interface KpiReportRequest {
  /** Rolled-up days; those outside [from, to] are ignored, missing days count as empty. */
  readonly days: readonly KpiDay[];
  readonly from: string;
  readonly to: string;
  readonly groupBy: GroupBy;
  readonly costs: readonly CostEntry[];
  readonly reference?: ReferenceValues;
  readonly lifetime?: LifetimeTotals;
}

/** Divides, or null when the denominator is 0 (KPIS.md: not defined). */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/** Money is kept to four decimals: spreading a month's cost over its days must add back to the month. */
const roundMoney = (value: number) => Math.round(value * 1e4) / 1e4 || 0;

function addMoney(into: Money, from: Money) {
  for (const [currency, amount] of Object.entries(from)) into[currency] = (into[currency] ?? 0) + amount;
}

function rounded(money: Money): Money {
  return Object.fromEntries(
    Object.entries(money).map(([currency, amount]) => [currency, roundMoney(amount)]),
  );
}

function addSlice(into: KpiSlice, from: KpiSlice) {
  into.visitors += from.visitors;
  into.sessions += from.sessions;
  into.pageViews += from.pageViews;
  into.newLeads += from.newLeads;
  into.mql += from.mql;
  into.sql += from.sql;
  into.sal += from.sal;
  into.orders += from.orders;
  into.newCustomers += from.newCustomers;
  addMoney(into.revenue, from.revenue);
  addMoney(into.firstTouchRevenue, from.firstTouchRevenue);
}

function addSlices(into: Record<string, KpiSlice>, from: Record<string, KpiSlice>) {
  for (const [key, slice] of Object.entries(from)) {
    const target = into[key] ?? emptySlice();
    into[key] = target;
    addSlice(target, slice);
  }
}

/** Sums days into one: counts and amounts add, so every ratio of the sum is exact for the range. */
export function sumDays(days: readonly KpiDay[], label: string): KpiDay {
  const sum = emptyKpiDay(label);
  let socialVisitors = 0;
  for (const day of days) {
    addSlice(sum.overall, day.overall);
    addSlices(sum.channel, day.channel);
    addSlices(sum.campaign, day.campaign);
    addSlices(sum.landingPage, day.landingPage);
    addSlices(sum.device, day.device);
    socialVisitors += day.socialVisitors;
    addMoney(sum.payingProfiles, day.payingProfiles);
    addMoney(sum.currencyCustomers, day.currencyCustomers);
    for (const outcome of EMAIL_OUTCOMES) sum.email[outcome] += day.email[outcome];
    for (const [journeyId, counts] of Object.entries(day.journeys)) {
      const target: JourneyCounts = sum.journeys[journeyId] ?? { entered: 0, goal: 0, variants: {} };
      sum.journeys[journeyId] = target;
      target.entered += counts.entered;
      target.goal += counts.goal;
      for (const [variant, v] of Object.entries(counts.variants)) {
        const t = target.variants[variant] ?? { entered: 0, goal: 0 };
        target.variants[variant] = t;
        t.entered += v.entered;
        t.goal += v.goal;
      }
    }
  }
  return { ...sum, socialVisitors };
}

/** Every calendar day from `from` to `to`, inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const start = DateTime.fromISO(from, { zone: 'utc' });
  const end = DateTime.fromISO(to, { zone: 'utc' });
  if (!start.isValid || !end.isValid || end < start)
    throw new RangeError(`not a range of days: ${from}..${to}`);
  const out: string[] = [];
  for (let day = start; day <= end; day = day.plus({ days: 1 })) out.push(day.toISODate() ?? '');
  return out;
}

function sumCosts(costs: readonly DayCosts[]): DayCosts {
  const sum: DayCosts = { channel: {}, campaign: {} };
  for (const day of costs)
    for (const scope of ['channel', 'campaign'] as const)
      for (const [name, money] of Object.entries(day[scope])) {
        const target = sum[scope][name] ?? {};
        sum[scope][name] = target;
        addMoney(target, money);
      }
  return sum;
}

function perCurrency(money: Money, divide: (currency: string, amount: number) => number | null): MoneyRatio {
  return Object.fromEntries(
    Object.entries(money).map(([currency, amount]) => [currency, divide(currency, amount)]),
  );
}

function sliceFigures(input: {
  slice: KpiSlice;
  allSessions: number;
  cost: Money;
  /** Revenue credited to the slice by first touch (the ROI's revenue). */
  revenue: Money;
}): SliceFigures {
  const { slice, cost } = input;
  return {
    visitors: slice.visitors,
    sessions: slice.sessions,
    pageViews: slice.pageViews,
    shareOfTraffic: ratio(slice.sessions, input.allSessions),
    newLeads: slice.newLeads,
    trafficToLeadRatio: ratio(slice.newLeads, slice.visitors),
    landingPageConversionRate: ratio(slice.newLeads, slice.sessions),
    mql: slice.mql,
    sql: slice.sql,
    sal: slice.sal,
    mqlToSql: ratio(slice.sql, slice.mql),
    sqlToSal: ratio(slice.sal, slice.sql),
    orders: slice.orders,
    newCustomers: slice.newCustomers,
    cost: rounded(cost),
    costPerLead: perCurrency(cost, (_, amount) => ratio(amount, slice.newLeads)),
    marketingRoi: perCurrency(cost, (currency, amount) =>
      ratio((input.revenue[currency] ?? 0) - amount, amount),
    ),
  };
}

const MOBILE_DEVICES = ['mobile', 'tablet'];

function wholeFigures(day: KpiDay, costs: DayCosts): KpiFigures {
  const cost: Money = {};
  for (const money of [...Object.values(costs.channel), ...Object.values(costs.campaign)])
    addMoney(cost, money);
  const { overall } = day;
  const sessionsOf = (channels: readonly string[]) =>
    channels.reduce((sum, channel) => sum + (day.channel[channel]?.sessions ?? 0), 0);
  const mobile = (field: 'sessions' | 'newLeads' | 'newCustomers') =>
    MOBILE_DEVICES.reduce((sum, device) => sum + (day.device[device]?.[field] ?? 0), 0);
  const socialSessions = sessionsOf(SOCIAL_CHANNELS);
  const byChannel = (field: 'revenue' | 'firstTouchRevenue') =>
    Object.fromEntries(
      Object.entries(day.channel)
        .filter(([, slice]) => Object.keys(slice[field]).length > 0)
        .map(([channel, slice]) => [channel, rounded(slice[field])]),
    );
  return {
    ...sliceFigures({ slice: overall, allSessions: overall.sessions, cost, revenue: overall.revenue }),
    organicSearchSessions: sessionsOf(['organic search']),
    socialReach: {
      visitors: day.socialVisitors,
      sessions: socialSessions,
      shareOfTraffic: ratio(socialSessions, overall.sessions),
    },
    mobileShare: {
      sessions: ratio(mobile('sessions'), overall.sessions),
      newLeads: ratio(mobile('newLeads'), overall.newLeads),
      newCustomers: ratio(mobile('newCustomers'), overall.newCustomers),
    },
    revenue: {
      total: rounded(overall.revenue),
      firstTouch: byChannel('firstTouchRevenue'),
      lastTouch: byChannel('revenue'),
    },
    customerValue: perCurrency(overall.revenue, (currency, amount) =>
      ratio(amount, day.payingProfiles[currency] ?? 0),
    ),
  };
}

function dimensionRows(input: {
  day: KpiDay;
  dimension: 'channel' | 'campaign' | 'landingPage';
  costs: DayCosts;
}): Array<{ key: string } & DimensionFigures> {
  const { day, dimension, costs } = input;
  const scoped: Record<string, Money> =
    dimension === 'channel' ? costs.channel : dimension === 'campaign' ? costs.campaign : {};
  const keys = [...new Set([...Object.keys(day[dimension]), ...Object.keys(scoped)])].sort();
  return keys.map((key) => {
    const slice = day[dimension][key] ?? emptySlice();
    return {
      key,
      ...sliceFigures({
        slice,
        allSessions: day.overall.sessions,
        cost: scoped[key] ?? {},
        revenue: slice.firstTouchRevenue,
      }),
      revenue: { firstTouch: rounded(slice.firstTouchRevenue), lastTouch: rounded(slice.revenue) },
    };
  });
}

function emailFigures(counts: Record<EmailOutcome, number>): EmailFigures {
  const bounced = counts.hardBounced + counts.softBounced;
  const perDelivered = (n: number) => ratio(n, counts.delivered);
  return {
    ...counts,
    bounced,
    rates: {
      bounced: perDelivered(bounced),
      hardBounced: perDelivered(counts.hardBounced),
      softBounced: perDelivered(counts.softBounced),
      complaints: perDelivered(counts.complained),
      unsubscribed: perDelivered(counts.unsubscribed),
      opened: perDelivered(counts.opened),
      humanOpened: perDelivered(counts.humanOpened),
      clicked: perDelivered(counts.clicked),
    },
  };
}

function journeyFigures(journeys: Record<string, JourneyCounts>): Record<string, JourneyFigures> {
  return Object.fromEntries(
    Object.entries(journeys).map(([journeyId, counts]) => {
      const variants = Object.entries(counts.variants);
      const total = variants.reduce(
        (sum, [, v]) => ({ entered: sum.entered + v.entered, goal: sum.goal + v.goal }),
        { entered: 0, goal: 0 },
      );
      return [
        journeyId,
        {
          entered: counts.entered,
          goal: counts.goal,
          conversionRate: ratio(counts.goal, counts.entered),
          variants: Object.fromEntries(
            variants.map(([variant, v]) => [
              variant,
              {
                entered: v.entered,
                goal: v.goal,
                conversionRate: ratio(v.goal, v.entered),
                pValue:
                  variants.length < 2
                    ? null
                    : twoProportionPValue(
                        { successes: v.goal, trials: v.entered },
                        { successes: total.goal - v.goal, trials: total.entered - v.entered },
                      ),
              },
            ]),
          ),
        },
      ];
    }),
  );
}

/** All-time totals for lifetime value: pass every rolled-up day up to the report's end. */
export function lifetimeTotals(days: readonly KpiDay[]): LifetimeTotals {
  const revenue: Money = {};
  const customers: Money = {};
  for (const day of days) {
    addMoney(revenue, day.overall.revenue);
    addMoney(customers, day.currencyCustomers);
  }
  return { revenue, customers };
}

/** The KPI report of a range of days. Pure: the API and the dashboard read it, the CSV export flattens it. */
export function kpiReport(request: KpiReportRequest): KpiReport {
  const { from, to, groupBy } = request;
  const range = daysBetween(from, to);
  const byDay = new Map(request.days.map((day) => [day.day, day]));
  const days = range.map((day) => byDay.get(day) ?? emptyKpiDay(day));
  const costs = range.map((day) => dailyCosts(request.costs, day));
  const whole = sumDays(days, `${from}..${to}`);
  const wholeCosts = sumCosts(costs);
  let rows: KpiReport['rows'] = [];
  if (groupBy === 'day')
    rows = days.map((day, index) => ({
      key: day.day,
      ...wholeFigures(day, costs[index] ?? { channel: {}, campaign: {} }),
    }));
  else if (groupBy !== 'none') rows = dimensionRows({ day: whole, dimension: groupBy, costs: wholeCosts });
  const { lifetime } = request;
  return {
    from,
    to,
    groupBy,
    reference: request.reference ?? DEFAULT_REFERENCE_VALUES,
    totals: wholeFigures(whole, wholeCosts),
    rows,
    lifetimeValue:
      lifetime === undefined
        ? null
        : perCurrency(lifetime.revenue, (currency, amount) =>
            ratio(amount, lifetime.customers[currency] ?? 0),
          ),
    email: emailFigures(whole.email),
    journeys: journeyFigures(whole.journeys),
  };
}

type Cell = string | number | boolean | null;

function flatten(value: unknown, prefix: string, into: Map<string, Cell>) {
  if (value === null || typeof value !== 'object') {
    into.set(
      prefix,
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null,
    );
    return;
  }
  for (const [key, inner] of Object.entries(value))
    flatten(inner, prefix === '' ? key : `${prefix}.${key}`, into);
}

function csvCell(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return '';
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The report as CSV: one line for the totals (`key` = `total`) and one per row; nested figures become dotted columns
 * (`revenue.total.EUR`), undefined ratios empty cells. Email and journey figures are in the JSON only.
 */
export function kpiCsv(report: KpiReport): string {
  const lines = [{ key: 'total', ...report.totals }, ...report.rows].map((row) => {
    const cells = new Map<string, Cell>();
    flatten(row, '', cells);
    return cells;
  });
  const columns: string[] = [];
  for (const line of lines)
    for (const column of line.keys()) if (!columns.includes(column)) columns.push(column);
  return `${[columns.map(csvCell).join(','), ...lines.map((line) => columns.map((c) => csvCell(line.get(c))).join(','))].join('\r\n')}\r\n`;
}
