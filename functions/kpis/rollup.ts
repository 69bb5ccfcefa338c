// The rollup: one day's counters turned into a KpiDay of raw numerators and denominators, and costs spread over days.
import { DateTime } from 'luxon';
import type { DayCounters } from './counter-store.ts';
import { type KpiMetric, SOCIAL_GROUP } from './counters.ts';
import type { EmailOutcome } from './inputs.ts';

/** Amounts per ISO 4217 currency; never summed across currencies. */
export type Money = Record<string, number>;

/** Counts of one slice of traffic (all of it, or one channel, campaign, landing page or device) on one day. */
export interface KpiSlice {
  visitors: number;
  sessions: number;
  pageViews: number;
  newLeads: number;
  mql: number;
  sql: number;
  sal: number;
  orders: number;
  newCustomers: number;
  /**
   * Overall: all revenue. Channel, campaign, landing page and device: revenue whose last touch (the order's session)
   * is the slice.
   */
  revenue: Money;
  /** Channel and campaign: revenue whose first touch is the slice. Overall: all revenue again. */
  firstTouchRevenue: Money;
}

export interface JourneyCounts {
  entered: number;
  goal: number;
  variants: Record<string, { entered: number; goal: number }>;
}

/** Every KPI part of one day. Ratios are not stored: they are computed from summed parts at query time. */
export interface KpiDay {
  readonly day: string;
  readonly overall: KpiSlice;
  readonly channel: Record<string, KpiSlice>;
  readonly campaign: Record<string, KpiSlice>;
  readonly landingPage: Record<string, KpiSlice>;
  readonly device: Record<string, KpiSlice>;
  /** Distinct visitors of organic and paid social together (a profile in both counts once). */
  readonly socialVisitors: number;
  /** Distinct profiles that paid this day, per currency. */
  readonly payingProfiles: Money;
  /** Profiles whose first payment in the currency was this day (lifetime value's denominator). */
  readonly currencyCustomers: Money;
  readonly email: Record<EmailOutcome, number>;
  readonly journeys: Record<string, JourneyCounts>;
}

export function emptySlice(): KpiSlice {
  return {
    visitors: 0,
    sessions: 0,
    pageViews: 0,
    newLeads: 0,
    mql: 0,
    sql: 0,
    sal: 0,
    orders: 0,
    newCustomers: 0,
    revenue: {},
    firstTouchRevenue: {},
  };
}

export function emptyEmail(): Record<EmailOutcome, number> {
  return {
    sent: 0,
    delivered: 0,
    hardBounced: 0,
    softBounced: 0,
    complained: 0,
    opened: 0,
    humanOpened: 0,
    clicked: 0,
    unsubscribed: 0,
  };
}

export function emptyKpiDay(day: string): KpiDay {
  return {
    day,
    overall: emptySlice(),
    channel: {},
    campaign: {},
    landingPage: {},
    device: {},
    socialVisitors: 0,
    payingProfiles: {},
    currencyCustomers: {},
    email: emptyEmail(),
    journeys: {},
  };
}

type CountField = Exclude<keyof KpiSlice, 'revenue' | 'firstTouchRevenue'>;
const COUNT_FIELDS: Partial<Record<KpiMetric, CountField>> = {
  sessions: 'sessions',
  visitors: 'visitors',
  pageViews: 'pageViews',
  newLeads: 'newLeads',
  mql: 'mql',
  sql: 'sql',
  sal: 'sal',
  orders: 'orders',
  newCustomers: 'newCustomers',
};

const EMAIL_FIELDS: Partial<Record<KpiMetric, EmailOutcome>> = {
  emailSent: 'sent',
  emailDelivered: 'delivered',
  emailHardBounced: 'hardBounced',
  emailSoftBounced: 'softBounced',
  emailComplained: 'complained',
  emailOpened: 'opened',
  emailHumanOpened: 'humanOpened',
  emailClicked: 'clicked',
  emailUnsubscribed: 'unsubscribed',
};

function addMoney(money: Money, currency: string, amount: number) {
  money[currency] = (money[currency] ?? 0) + amount;
}

/** Turns one day's counters into the day's KPI parts. Pure; the same counters always give the same KpiDay. */
export function rollupDay({ day, counters }: DayCounters): KpiDay {
  const result = emptyKpiDay(day);
  let socialVisitors = 0;
  const slice = (dimension: 'channel' | 'campaign' | 'landingPage' | 'device', value: string) => {
    const slices = result[dimension];
    const found = slices[value] ?? emptySlice();
    slices[value] = found;
    return found;
  };
  const journey = (journeyId: string) => {
    const found = result.journeys[journeyId] ?? { entered: 0, goal: 0, variants: {} };
    result.journeys[journeyId] = found;
    return found;
  };
  for (const counter of counters) {
    const { metric, dimension, value, total } = counter;
    const currency = counter.currency ?? '';
    const field = COUNT_FIELDS[metric];
    if (field !== undefined) {
      if (dimension === 'all') result.overall[field] += total;
      else if (dimension === 'channelGroup' && metric === 'visitors' && value === SOCIAL_GROUP)
        socialVisitors += total;
      else if (
        dimension === 'channel' ||
        dimension === 'campaign' ||
        dimension === 'landingPage' ||
        dimension === 'device'
      )
        slice(dimension, value)[field] += total;
      continue;
    }
    if (metric === 'revenue') {
      if (dimension === 'all') {
        addMoney(result.overall.revenue, currency, total);
        addMoney(result.overall.firstTouchRevenue, currency, total);
      } else if (dimension === 'firstTouchChannel')
        addMoney(slice('channel', value).firstTouchRevenue, currency, total);
      else if (dimension === 'firstTouchCampaign')
        addMoney(slice('campaign', value).firstTouchRevenue, currency, total);
      else if (
        dimension === 'channel' ||
        dimension === 'campaign' ||
        dimension === 'landingPage' ||
        dimension === 'device'
      )
        addMoney(slice(dimension, value).revenue, currency, total);
      continue;
    }
    if (metric === 'payingProfiles') addMoney(result.payingProfiles, currency, total);
    else if (metric === 'currencyCustomers') addMoney(result.currencyCustomers, currency, total);
    else if (metric === 'journeyEntered' || metric === 'journeyGoal') {
      const outcome = metric === 'journeyEntered' ? 'entered' : 'goal';
      if (dimension === 'journey') journey(value)[outcome] += total;
      else if (dimension === 'variant') {
        const cut = value.indexOf('/');
        const counts = journey(value.slice(0, cut));
        const variant = counts.variants[value.slice(cut + 1)] ?? { entered: 0, goal: 0 };
        counts.variants[value.slice(cut + 1)] = variant;
        variant[outcome] += total;
      }
    } else {
      const outcome = EMAIL_FIELDS[metric];
      if (outcome !== undefined && dimension === 'all') result.email[outcome] += total;
    }
  }
  return { ...result, socialVisitors };
}

/** Marketing cost entered for a channel or campaign, for one day (`2026-05-01`) or one month (`2026-05`). */
export interface CostEntry {
  readonly scope: 'channel' | 'campaign';
  /** The channel (as in KPIS.md) or utm_campaign the cost was spent on. */
  readonly name: string;
  readonly period: string;
  readonly amount: number;
  readonly currency: string;
}

export interface DayCosts {
  readonly channel: Record<string, Money>;
  readonly campaign: Record<string, Money>;
}

/** The cost that falls on one day: day entries in full, month entries spread evenly over the month's days. */
export function dailyCosts(entries: readonly CostEntry[], day: string): DayCosts {
  const date = DateTime.fromISO(day, { zone: 'utc' });
  if (!date.isValid) throw new RangeError(`not a day: ${day}`);
  const month = date.toFormat('yyyy-MM');
  const daysInMonth = date.daysInMonth ?? 30;
  const costs: DayCosts = { channel: {}, campaign: {} };
  for (const entry of entries) {
    const share =
      entry.period === day ? entry.amount : entry.period === month ? entry.amount / daysInMonth : 0;
    if (share === 0) continue;
    const money = costs[entry.scope][entry.name] ?? {};
    costs[entry.scope][entry.name] = money;
    addMoney(money, entry.currency, share);
  }
  return costs;
}
