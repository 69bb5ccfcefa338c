// Synthetic traffic with known true KPI values: what it sends through the real APIs, and the figures it must give.
//
// The expected figures are computed here from what the scenario sends, following /work/shared/KPIS.md and the
// documented scope of docs/kpis.md, and deliberately without functions/kpis: if the pipeline miscounts, this does not.
import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { DateTime } from 'luxon';
import * as z from 'zod';

export type Device = 'desktop' | 'mobile' | 'tablet';

export const USER_AGENTS: Record<Device | 'bot', string> = {
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  mobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  tablet:
    'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  bot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

const SITE = 'https://shop.example';
/** The time of day (UTC) the local clock is set to before a day's traffic: every event of the day lies before it. */
const DAY_CLOCK_TIME = 'T20:00:00Z';

/** Which client sends an in-session call: a raw fetch to /v1/batch, or Segment's analytics-node. */
type Via = 'fetch' | 'analytics-node';

export type Action =
  | { readonly kind: 'identify'; readonly via: Via }
  | { readonly kind: 'formSubmitted'; readonly via: Via; readonly duplicate?: boolean }
  | {
      readonly kind: 'order';
      readonly via: Via;
      /** Sent as `properties.revenue` (a number) or `properties.total` (a numeric string), as KPIS.md allows both. */
      readonly field: 'revenue' | 'total';
      readonly amount: number;
      readonly currency: string;
      readonly duplicate?: boolean;
    }
  | { readonly kind: 'dealWon'; readonly dealId: string; readonly amount: number; readonly currency: string };

/** One visit: a session by construction (30 min after the visitor's last event, or with new campaign parameters). */
export interface Visit {
  readonly id: string;
  readonly visitor: string;
  /** Index into the scenario's days. */
  readonly day: number;
  /** HH:MM (UTC) of the landing page view; the visit's other calls follow a minute apart. */
  readonly time: string;
  readonly landing: string;
  readonly query?: string;
  readonly referrer?: string;
  readonly device: Device;
  /** The channel and campaign KPIS.md's channel table gives this visit: stated by the scenario, not classified. */
  readonly channel: string;
  readonly campaign: string | null;
  /** Further pages of the visit (internal navigation: same host, no campaign parameters). */
  readonly pages?: readonly string[];
  readonly actions?: readonly Action[];
  /** Sends the landing page view twice with the same messageId. */
  readonly duplicateLanding?: boolean;
}

/** A visit by a crawler (Googlebot): never counted. */
export interface BotVisit {
  readonly id: string;
  readonly day: number;
  readonly time: string;
  readonly landing: string;
  readonly query?: string;
  readonly orderAmount?: number;
}

/** A lifecycle move made through the admin API (outside any session), at the start of its day. */
export interface StageMove {
  readonly day: number;
  readonly visitor: string;
  readonly to: 'mql' | 'sql' | 'sal';
}

export interface CostInput {
  readonly channel?: string;
  readonly campaign?: string;
  /** Day index (a day entry) or, with `month`, the month of that day (spread over its days). */
  readonly day: number;
  readonly month?: boolean;
  /** Per day of the month for month entries, so the spread is exact; in full for day entries. */
  readonly amount: number;
  readonly currency: string;
}

export interface Scenario {
  readonly visits: readonly Visit[];
  readonly bots: readonly BotVisit[];
  readonly stageMoves: readonly StageMove[];
  readonly costs: readonly CostInput[];
}

const search = { channel: 'organic search', campaign: null } as const;
const springSocial = {
  query: 'utm_source=facebook&utm_medium=paid&utm_campaign=spring',
  channel: 'paid social',
  campaign: 'spring',
} as const;
const weeklyEmail = {
  query: 'utm_source=newsletter&utm_medium=email&utm_campaign=weekly',
  channel: 'email',
  campaign: 'weekly',
} as const;

/**
 * Three days of traffic: seven visitors on seven channels, desktop, mobile and tablet, internal page views, leads from
 * a form (by fetch and by analytics-node), an identify that is no lead, MQL/SQL/SAL moves, an order by number, an
 * order by numeric string, a won deal, costs by channel and campaign, per day and per month; exact duplicates and
 * Googlebot mixed in.
 */
export const KPI_SCENARIO: Scenario = {
  visits: [
    {
      id: 'v1',
      visitor: 'alice',
      day: 0,
      time: '09:00',
      landing: '/pricing',
      referrer: 'https://www.google.com/',
      device: 'desktop',
      ...search,
      pages: ['/features'],
      actions: [
        { kind: 'identify', via: 'fetch' },
        { kind: 'formSubmitted', via: 'fetch', duplicate: true },
      ],
    },
    {
      id: 'v2',
      visitor: 'bob',
      day: 0,
      time: '10:00',
      landing: '/promo',
      device: 'mobile',
      ...springSocial,
      duplicateLanding: true,
    },
    {
      id: 'v3',
      visitor: 'carol',
      day: 0,
      time: '11:00',
      landing: '/',
      device: 'desktop',
      channel: 'direct',
      campaign: null,
      pages: ['/blog'],
    },
    {
      id: 'v4',
      visitor: 'alice',
      day: 0,
      time: '14:00',
      landing: '/pricing',
      device: 'desktop',
      ...weeklyEmail,
    },
    {
      id: 'v5',
      visitor: 'bob',
      day: 1,
      time: '09:00',
      landing: '/promo',
      device: 'mobile',
      ...springSocial,
      actions: [
        { kind: 'identify', via: 'analytics-node' },
        { kind: 'formSubmitted', via: 'analytics-node' },
      ],
    },
    {
      id: 'v6',
      visitor: 'dave',
      day: 1,
      time: '10:00',
      landing: '/blog',
      referrer: 'https://l.facebook.com/',
      device: 'tablet',
      channel: 'organic social',
      campaign: null,
      pages: ['/pricing'],
    },
    {
      id: 'v7',
      visitor: 'alice',
      day: 1,
      time: '11:00',
      landing: '/account',
      device: 'desktop',
      channel: 'direct',
      campaign: null,
      actions: [
        { kind: 'order', via: 'fetch', field: 'revenue', amount: 120, currency: 'EUR', duplicate: true },
      ],
    },
    {
      id: 'v8',
      visitor: 'erin',
      day: 1,
      time: '13:00',
      landing: '/pricing',
      referrer: 'https://news.example.org/story',
      device: 'desktop',
      channel: 'referral',
      campaign: null,
      actions: [{ kind: 'identify', via: 'fetch' }],
    },
    {
      id: 'v9',
      visitor: 'carol',
      day: 2,
      time: '09:00',
      landing: '/pricing',
      referrer: 'https://www.bing.com/',
      device: 'mobile',
      ...search,
      actions: [
        { kind: 'identify', via: 'fetch' },
        { kind: 'formSubmitted', via: 'fetch' },
      ],
    },
    {
      id: 'v10',
      visitor: 'frank',
      day: 2,
      time: '10:00',
      landing: '/pricing',
      query: 'utm_source=google&utm_medium=cpc&utm_campaign=brand',
      device: 'mobile',
      channel: 'paid search',
      campaign: 'brand',
      actions: [{ kind: 'order', via: 'analytics-node', field: 'total', amount: 50, currency: 'eur' }],
    },
    {
      id: 'v11',
      visitor: 'alice',
      day: 2,
      time: '15:00',
      landing: '/pricing',
      device: 'desktop',
      ...weeklyEmail,
      actions: [{ kind: 'dealWon', dealId: 'deal-1', amount: 900, currency: 'EUR' }],
    },
    {
      id: 'v12',
      visitor: 'gina',
      day: 2,
      time: '16:00',
      landing: '/promo',
      query: 'utm_source=partner&utm_medium=affiliate&utm_campaign=spring',
      device: 'desktop',
      channel: 'affiliate',
      campaign: 'spring',
      actions: [{ kind: 'formSubmitted', via: 'fetch' }],
    },
  ],
  bots: [
    {
      id: 'b1',
      day: 0,
      time: '12:00',
      landing: '/pricing',
      query: 'utm_source=google&utm_medium=cpc&utm_campaign=brand',
      orderAmount: 999,
    },
    { id: 'b2', day: 1, time: '12:00', landing: '/blog' },
  ],
  stageMoves: [
    { day: 1, visitor: 'alice', to: 'mql' },
    { day: 2, visitor: 'alice', to: 'sql' },
    { day: 2, visitor: 'alice', to: 'sal' },
    { day: 2, visitor: 'bob', to: 'mql' },
  ],
  costs: [
    { channel: 'paid social', day: 0, month: true, amount: 10, currency: 'EUR' },
    { campaign: 'spring', day: 1, amount: 20, currency: 'EUR' },
    { channel: 'paid search', day: 2, amount: 25, currency: 'EUR' },
    { channel: 'email', day: 0, amount: 15, currency: 'EUR' },
  ],
};

/** Three consecutive UTC days starting tomorrow (the local clock only moves forward). */
export function scenarioDays(now: Date = new Date()): string[] {
  const first = DateTime.fromJSDate(now, { zone: 'utc' }).startOf('day').plus({ days: 1 });
  return [0, 1, 2].map((n) => first.plus({ days: n }).toISODate() ?? '');
}

/** The scenario cut to its first `count` days (a smaller part of the same traffic). */
export function firstDays(scenario: Scenario, count: number): Scenario {
  return {
    visits: scenario.visits.filter((visit) => visit.day < count),
    bots: scenario.bots.filter((bot) => bot.day < count),
    stageMoves: scenario.stageMoves.filter((move) => move.day < count),
    costs: scenario.costs.filter((cost) => cost.day < count),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The expected figures
// ---------------------------------------------------------------------------------------------------------------

type Money = Record<string, number>;

interface Touch {
  readonly channel: string;
  readonly campaign: string | null;
}

/** A session as the KPIs see it. `null` where a fact happened outside any session (a move by hand). */
interface SessionFact extends Touch {
  readonly day: string;
  readonly visitor: string;
  readonly landingPage: string;
  readonly device: Device;
  readonly pageViews: number;
}

interface Payment {
  readonly day: string;
  readonly visitor: string;
  readonly amount: number;
  readonly currency: string;
  readonly firstTouch: Touch;
  readonly lastTouch: Touch;
  /** The device of the session the payment happened in; unknown for a deal won in a CRM. */
  readonly device: Device | null;
  readonly firstPayment: boolean;
}

export interface Facts {
  readonly days: readonly string[];
  readonly sessions: readonly SessionFact[];
  readonly leads: ReadonlyArray<{ readonly day: string; readonly session: SessionFact }>;
  readonly stageEntries: ReadonlyArray<{ readonly day: string; readonly stage: 'mql' | 'sql' | 'sal' }>;
  readonly payments: readonly Payment[];
  readonly costs: ReadonlyArray<{
    readonly scope: 'channel' | 'campaign';
    readonly name: string;
    readonly period: string;
    readonly amount: number;
    readonly currency: string;
  }>;
}

const UNKNOWN = '(unknown)';
const NONE = '(none)';
const SOCIAL = ['organic social', 'paid social'];

function daysInMonthOf(day: string): number {
  return DateTime.fromISO(day, { zone: 'utc' }).daysInMonth ?? 30;
}

/**
 * The facts the scenario creates, in the terms of KPIS.md: sessions (each visit), new leads (a visitor's first form
 * or won deal), stage entries (by hand: no session), payments with first touch (the visitor's first visit) and last
 * touch (the visit they paid in), and costs.
 */
export function scenarioFacts(scenario: Scenario, days: readonly string[]): Facts {
  const dayOf = (index: number) => days[index] ?? '';
  const sessions: SessionFact[] = [];
  const leads: Array<{ day: string; session: SessionFact }> = [];
  const payments: Payment[] = [];
  const isLead = new Set<string>();
  const firstTouch = new Map<string, Touch>();
  const paid = new Set<string>();
  const visits = [...scenario.visits].sort((a, b) => a.day - b.day || a.time.localeCompare(b.time));
  for (const visit of visits) {
    const session: SessionFact = {
      day: dayOf(visit.day),
      visitor: visit.visitor,
      channel: visit.channel,
      campaign: visit.campaign,
      landingPage: visit.landing,
      device: visit.device,
      pageViews: 1 + (visit.pages?.length ?? 0),
    };
    sessions.push(session);
    if (!firstTouch.has(visit.visitor))
      firstTouch.set(visit.visitor, { channel: visit.channel, campaign: visit.campaign });
    for (const action of visit.actions ?? []) {
      const pays = action.kind === 'order' || action.kind === 'dealWon';
      // A form makes a lead; so does a won deal for someone who was none (KPIS.md: "lead or later"). An identify with
      // an email does not: KPIS.md's default says it should, but the stage rules in force (scoring's defaults) make
      // leads of `Form Submitted` only, and KPIS.md lets the workspace's stage rules decide. Erin shows the difference.
      if ((action.kind === 'formSubmitted' || action.kind === 'dealWon') && !isLead.has(visit.visitor)) {
        isLead.add(visit.visitor);
        leads.push({ day: session.day, session });
      }
      if (!pays) continue;
      payments.push({
        day: session.day,
        visitor: visit.visitor,
        amount: action.amount,
        currency: action.currency.toUpperCase(),
        firstTouch: firstTouch.get(visit.visitor) ?? visit,
        lastTouch: visit,
        device: action.kind === 'order' ? visit.device : null,
        firstPayment: !paid.has(visit.visitor),
      });
      paid.add(visit.visitor);
    }
  }
  return {
    days,
    sessions,
    leads,
    stageEntries: scenario.stageMoves.map((move) => ({ day: dayOf(move.day), stage: move.to })),
    payments,
    costs: scenario.costs.map((cost) => {
      const day = dayOf(cost.day);
      return {
        scope: cost.channel === undefined ? 'campaign' : 'channel',
        name: cost.channel ?? cost.campaign ?? '',
        period: cost.month === true ? day.slice(0, 7) : day,
        amount: cost.month === true ? cost.amount * daysInMonthOf(day) : cost.amount,
        currency: cost.currency,
      };
    }),
  };
}

/** Sessions and page views per visitor: what tracking itself must have counted on each profile. */
export function visitorCounters(facts: Facts): Map<string, { sessions: number; pageViews: number }> {
  const out = new Map<string, { sessions: number; pageViews: number }>();
  for (const session of facts.sessions) {
    const counters = out.get(session.visitor) ?? { sessions: 0, pageViews: 0 };
    out.set(session.visitor, {
      sessions: counters.sessions + 1,
      pageViews: counters.pageViews + session.pageViews,
    });
  }
  return out;
}

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;
const roundMoney = (value: number) => Math.round(value * 1e4) / 1e4 || 0;

function add(money: Money, currency: string, amount: number) {
  money[currency] = (money[currency] ?? 0) + amount;
}

function rounded(money: Money): Money {
  return Object.fromEntries(
    Object.entries(money).map(([currency, amount]) => [currency, roundMoney(amount)]),
  );
}

/** Distinct (day, visitor) pairs: KPIS.md's visitors are distinct per day, and a range sums the days. */
function personDays(items: ReadonlyArray<{ day: string; visitor: string }>): number {
  return new Set(items.map((item) => `${item.day}|${item.visitor}`)).size;
}

type Dimension = 'channel' | 'campaign' | 'landingPage';

function dimensionValue(session: SessionFact | null, dimension: Dimension | 'device'): string {
  if (session === null) return UNKNOWN;
  if (dimension === 'campaign') return session.campaign ?? NONE;
  return String(session[dimension]);
}

/** The cost that falls on the days: a day entry in full, a month entry spread evenly over its days. */
function costOn(facts: Facts, days: readonly string[], scope: 'channel' | 'campaign', name?: string): Money {
  const money: Money = {};
  for (const day of days)
    for (const cost of facts.costs) {
      if (cost.scope !== scope || (name !== undefined && cost.name !== name)) continue;
      if (cost.period === day) add(money, cost.currency, cost.amount);
      else if (cost.period === day.slice(0, 7)) add(money, cost.currency, cost.amount / daysInMonthOf(day));
    }
  return money;
}

interface Slice {
  visitors: number;
  sessions: number;
  pageViews: number;
  newLeads: number;
  mql: number;
  sql: number;
  sal: number;
  orders: number;
  newCustomers: number;
}

function figures(input: { slice: Slice; allSessions: number; cost: Money; roiRevenue: Money }) {
  const { slice, cost } = input;
  return {
    ...slice,
    shareOfTraffic: ratio(slice.sessions, input.allSessions),
    trafficToLeadRatio: ratio(slice.newLeads, slice.visitors),
    landingPageConversionRate: ratio(slice.newLeads, slice.sessions),
    mqlToSql: ratio(slice.sql, slice.mql),
    sqlToSal: ratio(slice.sal, slice.sql),
    cost: rounded(cost),
    costPerLead: Object.fromEntries(
      Object.entries(cost).map(([currency, amount]): [string, number | null] => [
        currency,
        ratio(amount, slice.newLeads),
      ]),
    ),
    marketingRoi: Object.fromEntries(
      Object.entries(cost).map(([currency, amount]): [string, number | null] => [
        currency,
        ratio((input.roiRevenue[currency] ?? 0) - amount, amount),
      ]),
    ),
  };
}

/** The facts of some days, optionally only those of one dimension value. */
function sliceOf(
  facts: Facts,
  days: readonly string[],
  where?: { dimension: Dimension; value: string },
): Slice {
  const inDays = <T extends { day: string }>(items: readonly T[]) =>
    items.filter((item) => days.includes(item.day));
  const matches = (session: SessionFact | null) =>
    where === undefined || dimensionValue(session, where.dimension) === where.value;
  const sessions = inDays(facts.sessions).filter(matches);
  const leads = inDays(facts.leads).filter((lead) => matches(lead.session));
  // Stage moves by hand have no session: they count under (unknown) in every dimension.
  const entries = inDays(facts.stageEntries).filter(() => matches(null));
  // docs/kpis.md: orders are counted overall only; payments are broken down by channel and campaign (last touch),
  // never by landing page.
  const payments = inDays(facts.payments).filter(
    (payment) =>
      where === undefined ||
      (where.dimension !== 'landingPage' && lastTouchValue(payment, where.dimension) === where.value),
  );
  return {
    visitors: personDays(sessions),
    sessions: sessions.length,
    pageViews: sessions.reduce((sum, session) => sum + session.pageViews, 0),
    newLeads: leads.length,
    mql: entries.filter((entry) => entry.stage === 'mql').length,
    sql: entries.filter((entry) => entry.stage === 'sql').length,
    sal: entries.filter((entry) => entry.stage === 'sal').length,
    orders: where === undefined ? payments.length : 0,
    newCustomers: payments.filter((payment) => payment.firstPayment).length,
  };
}

function lastTouchValue(payment: Payment, dimension: 'channel' | 'campaign'): string {
  return dimension === 'channel' ? payment.lastTouch.channel : (payment.lastTouch.campaign ?? NONE);
}

function firstTouchValue(payment: Payment, dimension: 'channel' | 'campaign'): string {
  return dimension === 'channel' ? payment.firstTouch.channel : (payment.firstTouch.campaign ?? NONE);
}

function revenueBy(payments: readonly Payment[], key: (payment: Payment) => string): Record<string, Money> {
  const out: Record<string, Money> = {};
  for (const payment of payments) {
    const money = out[key(payment)] ?? {};
    out[key(payment)] = money;
    add(money, payment.currency, payment.amount);
  }
  return Object.fromEntries(Object.entries(out).map(([name, money]) => [name, rounded(money)]));
}

/** The figures of the whole traffic of some days (the report's totals, or one day's row). */
function wholeFigures(facts: Facts, days: readonly string[]) {
  const sessions = facts.sessions.filter((session) => days.includes(session.day));
  const payments = facts.payments.filter((payment) => days.includes(payment.day));
  const leads = facts.leads.filter((lead) => days.includes(lead.day));
  const revenue: Money = {};
  for (const payment of payments) add(revenue, payment.currency, payment.amount);
  const cost: Money = {};
  for (const scope of ['channel', 'campaign'] as const)
    for (const [currency, amount] of Object.entries(costOn(facts, days, scope))) add(cost, currency, amount);
  const mobile = (device: Device | null) => device === 'mobile' || device === 'tablet';
  const social = sessions.filter((session) => SOCIAL.includes(session.channel));
  const payers: Money = {};
  for (const currency of new Set(payments.map((payment) => payment.currency)))
    payers[currency] = personDays(payments.filter((payment) => payment.currency === currency));
  const newCustomers = payments.filter((payment) => payment.firstPayment);
  const slice = sliceOf(facts, days);
  return {
    ...figures({ slice, allSessions: slice.sessions, cost, roiRevenue: revenue }),
    organicSearchSessions: sessions.filter((session) => session.channel === 'organic search').length,
    socialReach: {
      visitors: personDays(social),
      sessions: social.length,
      shareOfTraffic: ratio(social.length, sessions.length),
    },
    mobileShare: {
      sessions: ratio(sessions.filter((session) => mobile(session.device)).length, sessions.length),
      newLeads: ratio(leads.filter((lead) => mobile(lead.session.device)).length, leads.length),
      newCustomers: ratio(
        newCustomers.filter((payment) => mobile(payment.device)).length,
        newCustomers.length,
      ),
    },
    revenue: {
      total: rounded(revenue),
      firstTouch: revenueBy(payments, (payment) => payment.firstTouch.channel),
      lastTouch: revenueBy(payments, (payment) => payment.lastTouch.channel),
    },
    customerValue: Object.fromEntries(
      Object.entries(revenue).map(([currency, amount]): [string, number | null] => [
        currency,
        ratio(amount, payers[currency] ?? 0),
      ]),
    ),
  };
}

function dimensionRows(facts: Facts, days: readonly string[], dimension: Dimension) {
  const sessions = facts.sessions.filter((session) => days.includes(session.day));
  const payments = facts.payments.filter((payment) => days.includes(payment.day));
  const keys = new Set<string>(sessions.map((session) => dimensionValue(session, dimension)));
  for (const lead of facts.leads)
    if (days.includes(lead.day)) keys.add(dimensionValue(lead.session, dimension));
  if (facts.stageEntries.some((entry) => days.includes(entry.day))) keys.add(UNKNOWN);
  const costScope = dimension === 'landingPage' ? undefined : dimension;
  if (costScope !== undefined) {
    for (const payment of payments) {
      keys.add(lastTouchValue(payment, costScope));
      keys.add(firstTouchValue(payment, costScope));
    }
    for (const cost of facts.costs)
      if (cost.scope === costScope && Object.keys(costOn(facts, days, costScope, cost.name)).length > 0)
        keys.add(cost.name);
  }
  const allSessions = sessions.length;
  return [...keys].sort().map((key) => {
    const firstTouch: Money = {};
    const lastTouch: Money = {};
    if (costScope !== undefined)
      for (const payment of payments) {
        if (firstTouchValue(payment, costScope) === key) add(firstTouch, payment.currency, payment.amount);
        if (lastTouchValue(payment, costScope) === key) add(lastTouch, payment.currency, payment.amount);
      }
    return {
      key,
      ...figures({
        slice: sliceOf(facts, days, { dimension, value: key }),
        allSessions,
        cost: costScope === undefined ? {} : costOn(facts, days, costScope, key),
        roiRevenue: firstTouch,
      }),
      revenue: { firstTouch: rounded(firstTouch), lastTouch: rounded(lastTouch) },
    };
  });
}

export type GroupBy = 'none' | 'day' | 'channel' | 'campaign' | 'landingPage';

export interface ReferenceValues {
  readonly trafficToLeadRatio: { readonly low: number; readonly high: number };
  readonly landingPageConversionRate: { readonly typical: number };
}

const EMAIL_COUNTS = [
  'sent',
  'delivered',
  'hardBounced',
  'softBounced',
  'complained',
  'opened',
  'humanOpened',
  'clicked',
  'unsubscribed',
] as const;

/** Every day from `from` to `to`, inclusive. */
export function daysFrom(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let day = DateTime.fromISO(from, { zone: 'utc' });
    (day.toISODate() ?? '') <= to;
    day = day.plus({ days: 1 })
  )
    out.push(day.toISODate() ?? '');
  return out;
}

/** The KPI report `GET /admin/kpis` must answer for the scenario's facts: every field, computed from the facts. */
export function expectedReport(input: {
  facts: Facts;
  from: string;
  to: string;
  groupBy: GroupBy;
  reference: ReferenceValues;
}) {
  const { facts, from, to, groupBy } = input;
  const days = daysFrom(from, to);
  const rows =
    groupBy === 'none'
      ? []
      : groupBy === 'day'
        ? days.map((day) => ({ key: day, ...wholeFigures(facts, [day]) }))
        : dimensionRows(facts, days, groupBy);
  const lifetime = facts.payments.filter((payment) => payment.day <= to);
  const lifetimeRevenue: Money = {};
  const customers: Money = {};
  for (const payment of lifetime) add(lifetimeRevenue, payment.currency, payment.amount);
  for (const currency of Object.keys(lifetimeRevenue))
    customers[currency] = new Set(lifetime.filter((p) => p.currency === currency).map((p) => p.visitor)).size;
  const email = Object.fromEntries(EMAIL_COUNTS.map((outcome) => [outcome, 0]));
  return {
    from,
    to,
    groupBy,
    reference: input.reference,
    totals: wholeFigures(facts, days),
    rows,
    lifetimeValue: Object.fromEntries(
      Object.entries(lifetimeRevenue).map(([currency, amount]): [string, number | null] => [
        currency,
        ratio(amount, customers[currency] ?? 0),
      ]),
    ),
    // The scenario sends no email and runs no journey: every email count is 0 and its rates undefined.
    email: {
      ...email,
      bounced: 0,
      rates: {
        bounced: null,
        hardBounced: null,
        softBounced: null,
        complaints: null,
        unsubscribed: null,
        opened: null,
        humanOpened: null,
        clicked: null,
      },
    },
    journeys: {},
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Playing the scenario through the local stack
// ---------------------------------------------------------------------------------------------------------------

export interface StackAccess {
  readonly apiUrl: string;
  readonly writeKey: string;
  readonly adminToken: string;
}

const collectAnswer = z.object({ accepted: z.number(), duplicates: z.number() }).loose();
const clockAnswer = z.object({ now: z.string(), offsetMs: z.number() });

/** What playing the scenario observed, for the test to check the traffic arrived as meant. */
export interface PlayLog {
  accepted: number;
  duplicates: number;
  /** Requests refused or failed (status ≥ 400), with the body. */
  failures: string[];
  /** Profile id per visitor name. */
  readonly profiles: Map<string, string>;
}

interface Call {
  readonly type: 'page' | 'identify' | 'track';
  readonly messageId: string;
  readonly at: string;
  readonly body: Record<string, unknown>;
}

export class KpiTrafficPlayer {
  readonly log: PlayLog = { accepted: 0, duplicates: 0, failures: [], profiles: new Map() };
  private offsetMs = 0;
  private readonly run = randomUUID().slice(0, 8);
  private readonly analytics: Analytics;

  constructor(
    private readonly stack: StackAccess,
    private readonly days: readonly string[],
  ) {
    this.analytics = new Analytics({
      writeKey: stack.writeKey,
      host: stack.apiUrl,
      flushAt: 1,
      flushInterval: 50,
      maxRetries: 3,
    });
    this.analytics.on('error', (error) => this.log.failures.push(`analytics-node: ${String(error)}`));
  }

  /** Plays the scenario day by day: the clock moves to each day's evening, then moves, visits, bots, costs. */
  async play(scenario: Scenario): Promise<void> {
    for (const [index, day] of this.days.entries()) {
      if (!scenario.visits.some((visit) => visit.day === index)) continue;
      await this.clock({ to: `${day}${DAY_CLOCK_TIME}` });
      // Moves by hand first: scoring has settled the day before, and the day's deal comes after them.
      for (const move of scenario.stageMoves.filter((m) => m.day === index)) await this.moveStage(move);
      await this.settle();
      const visits = scenario.visits
        .filter((visit) => visit.day === index)
        .sort((a, b) => a.time.localeCompare(b.time));
      for (const visit of visits) await this.visit(visit);
      for (const bot of scenario.bots.filter((b) => b.day === index)) await this.bot(bot);
      await this.settle();
    }
    await this.analytics.closeAndFlush();
  }

  /** Enters the scenario's costs through `PUT /admin/kpis/costs`. */
  async putCosts(facts: Facts): Promise<Response> {
    return this.admin('/admin/kpis/costs', {
      method: 'PUT',
      body: JSON.stringify({
        entries: facts.costs.map((cost) => ({
          [cost.scope]: cost.name,
          [cost.period.length === 7 ? 'month' : 'day']: cost.period,
          amount: cost.amount,
          currency: cost.currency,
        })),
      }),
    });
  }

  admin(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.stack.apiUrl}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${this.stack.adminToken}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  }

  /** Lets every queue, stream and rule settle (the local clock's endpoint answers once all is quiet). */
  settle(): Promise<void> {
    return this.clock({ advance: 'PT1S' });
  }

  private async clock(body: { to: string } | { advance: string }): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/_local/clock`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`clock ${JSON.stringify(body)}: ${await response.text()}`);
    this.offsetMs = clockAnswer.parse(await response.json()).offsetMs;
  }

  private ids(visitor: string) {
    return { anonymousId: `anon-${this.run}-${visitor}`, userId: `user-${this.run}-${visitor}` };
  }

  private at(visit: { day: number; time: string }, minute: number): string {
    const start = DateTime.fromISO(`${this.days[visit.day]}T${visit.time}:00Z`, { zone: 'utc' });
    return start.plus({ minutes: minute }).toISO() ?? '';
  }

  private identified = new Set<string>();

  private async visit(visit: Visit): Promise<void> {
    const { anonymousId, userId } = this.ids(visit.visitor);
    const known = this.identified.has(visit.visitor);
    const who = known ? { anonymousId, userId } : { anonymousId };
    const userAgent = USER_AGENTS[visit.device];
    const query = visit.query === undefined ? '' : `?${visit.query}`;
    const pageCall = (path: string, minute: number, referrer: string | undefined): Call => {
      const url = `${SITE}${path}${minute === 0 ? query : ''}`;
      const messageId = `${this.run}-${visit.id}-page-${minute}`;
      return {
        type: 'page',
        messageId,
        at: this.at(visit, minute),
        body: {
          type: 'page',
          messageId,
          ...who,
          name: path,
          timestamp: this.at(visit, minute),
          properties: { url, path, ...(referrer === undefined ? {} : { referrer }) },
          context: { userAgent, page: { url, path, ...(referrer === undefined ? {} : { referrer }) } },
        },
      };
    };
    const pages = [
      pageCall(visit.landing, 0, visit.referrer),
      ...(visit.pages ?? []).map((path, index) =>
        pageCall(path, index + 1, `${SITE}${index === 0 ? visit.landing : (visit.pages?.[index - 1] ?? '')}`),
      ),
    ];
    await this.batch(pages);
    if (visit.duplicateLanding === true && pages[0] !== undefined) await this.batch([pages[0]]);
    let minute = pages.length;
    for (const action of visit.actions ?? []) {
      minute += 1;
      await this.act({ visit, action, minute, userAgent });
      if (action.kind === 'identify') this.identified.add(visit.visitor);
    }
    if (!this.log.profiles.has(visit.visitor))
      this.log.profiles.set(visit.visitor, await this.profileId(anonymousId));
  }

  private async act(input: {
    visit: Visit;
    action: Action;
    minute: number;
    userAgent: string;
  }): Promise<void> {
    const { visit, action, minute, userAgent } = input;
    const { anonymousId, userId } = this.ids(visit.visitor);
    const email = `${visit.visitor}-${this.run}@example.com`;
    const at = this.at(visit, minute);
    const messageId = `${this.run}-${visit.id}-${action.kind}-${minute}`;
    const page = { url: `${SITE}${visit.landing}`, path: visit.landing };
    if (action.kind === 'dealWon') {
      // A CRM reports the won deal: userId only, no browser context.
      await this.batch([
        {
          type: 'track',
          messageId,
          at,
          body: {
            type: 'track',
            messageId,
            userId,
            event: 'deal.won',
            timestamp: at,
            properties: { dealId: action.dealId, revenue: action.amount, currency: action.currency },
          },
        },
      ]);
      return;
    }
    const properties =
      action.kind === 'formSubmitted'
        ? { email, form: 'contact' }
        : action.kind === 'order'
          ? {
              orderId: `order-${visit.id}`,
              [action.field]: action.field === 'total' ? action.amount.toFixed(2) : action.amount,
              currency: action.currency,
            }
          : {};
    const event = action.kind === 'formSubmitted' ? 'Form Submitted' : 'Order Completed';
    if (action.via === 'analytics-node') {
      // analytics-node stamps sentAt with this machine's clock, which is behind the stack's moved clock by the offset;
      // the event's time is then receivedAt − sentAt + timestamp (KPIS.md), so the timestamp is on this clock too.
      const timestamp = new Date(Date.parse(at) - this.offsetMs);
      await new Promise<void>((resolve, reject) => {
        const done = (error?: unknown) => (error ? reject(error) : resolve());
        if (action.kind === 'identify')
          this.analytics.identify(
            { messageId, userId, anonymousId, traits: { email }, timestamp, context: { page } },
            done,
          );
        else
          this.analytics.track(
            { messageId, userId, anonymousId, event, properties, timestamp, context: { page } },
            done,
          );
      });
      this.log.accepted += 1;
      return;
    }
    const context = { userAgent, page };
    const call: Call =
      action.kind === 'identify'
        ? {
            type: 'identify',
            messageId,
            at,
            body: {
              type: 'identify',
              messageId,
              userId,
              anonymousId,
              traits: { email },
              timestamp: at,
              context,
            },
          }
        : {
            type: 'track',
            messageId,
            at,
            body: {
              type: 'track',
              messageId,
              userId,
              anonymousId,
              event,
              properties,
              timestamp: at,
              context,
            },
          };
    await this.batch([call]);
    if ('duplicate' in action && action.duplicate === true) await this.batch([call]);
  }

  private async bot(bot: BotVisit): Promise<void> {
    const anonymousId = `anon-${this.run}-bot-${bot.id}`;
    const url = `${SITE}${bot.landing}${bot.query === undefined ? '' : `?${bot.query}`}`;
    const context = { userAgent: USER_AGENTS.bot, page: { url, path: bot.landing } };
    const at = this.at(bot, 0);
    const calls: Call[] = [
      {
        type: 'page',
        messageId: `${this.run}-${bot.id}-page`,
        at,
        body: {
          type: 'page',
          messageId: `${this.run}-${bot.id}-page`,
          anonymousId,
          timestamp: at,
          properties: { url, path: bot.landing },
          context,
        },
      },
    ];
    if (bot.orderAmount !== undefined)
      calls.push({
        type: 'track',
        messageId: `${this.run}-${bot.id}-order`,
        at,
        body: {
          type: 'track',
          messageId: `${this.run}-${bot.id}-order`,
          anonymousId,
          event: 'Order Completed',
          timestamp: at,
          properties: { revenue: bot.orderAmount, currency: 'EUR' },
          context,
        },
      });
    await this.batch(calls);
  }

  /** POST /v1/batch with the write key; no sentAt, so each event's time is its timestamp. */
  private async batch(calls: readonly Call[]): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.stack.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch: calls.map((call) => call.body) }),
    });
    const text = await response.text();
    if (response.status !== 200) {
      this.log.failures.push(`/v1/batch ${response.status}: ${text}`);
      return;
    }
    const answer = collectAnswer.parse(JSON.parse(text));
    this.log.accepted += answer.accepted;
    this.log.duplicates += answer.duplicates;
  }

  private async moveStage(move: StageMove): Promise<void> {
    const profileId = this.log.profiles.get(move.visitor);
    if (profileId === undefined) throw new Error(`no profile for ${move.visitor} yet`);
    const id = encodeURIComponent(profileId);
    const response =
      move.to === 'sal'
        ? await this.admin(`/admin/leads/${id}/accept`, {
            method: 'POST',
            body: JSON.stringify({ by: 'sales@example.com', key: `${this.run}-${move.visitor}-sal` }),
          })
        : await this.admin(`/admin/profiles/${id}/stage`, {
            method: 'POST',
            body: JSON.stringify({
              stage: move.to,
              reason: 'KPI e2e',
              key: `${this.run}-${move.visitor}-${move.to}`,
            }),
          });
    if (response.status !== 200)
      this.log.failures.push(`stage ${move.to}: ${response.status} ${await response.text()}`);
  }

  private async profileId(anonymousId: string): Promise<string> {
    const response = await this.admin(`/admin/profiles?anonymousId=${encodeURIComponent(anonymousId)}`);
    const text = await response.text();
    if (response.status !== 200) throw new Error(`profile of ${anonymousId}: ${response.status} ${text}`);
    return z.object({ id: z.string() }).parse(JSON.parse(text)).id;
  }
}
