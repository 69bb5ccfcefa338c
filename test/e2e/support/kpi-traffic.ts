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

/** The local SES emulator's mailbox simulator: `bounce+…` bounces (hard), `complaint+…` is delivered, then complained. */
export type Mailbox = 'inbox' | 'bounce' | 'complaint';

export type Action =
  | {
      readonly kind: 'identify';
      readonly via: Via;
      /** Which address `traits.email` gets: the visitor's own (default) or a simulator address. */
      readonly mailbox?: Mailbox;
    }
  /** A track event with no KPI of its own (journey triggers and goals); by fetch. */
  | { readonly kind: 'track'; readonly event: string }
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
  /**
   * Actions of the same session sent only after the day's other traffic has settled (a journey goal must find the
   * enrollment its trigger made); they follow the visit's actions a minute apart.
   */
  readonly later?: readonly Action[];
  /** Sends the landing page view twice with the same messageId. */
  readonly duplicateLanding?: boolean;
  /**
   * Actions of this visit (timestamped in it, after its other actions) that arrive only at the end of the next day's
   * traffic, as from a client that was offline or an import: they count on the visit's day, in the visit's session.
   */
  readonly late?: readonly Action[];
}

/**
 * A deal won in a CRM, reported by a server (userId only, no browser context) hours after the visitor's last visit:
 * it opens no session and is credited to the visitor's last session (last touch).
 */
export interface CrmDeal {
  readonly day: number;
  readonly time: string;
  readonly visitor: string;
  readonly dealId: string;
  readonly amount: number;
  readonly currency: string;
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

/** What a recipient does with a delivered email: the pixel by a browser or by a crawler, the link, the unsubscribe. */
export type Engagement = 'humanOpen' | 'machineOpen' | 'click' | 'unsubscribe';

/**
 * One email through `POST /admin/messages`, after the day's traffic. The outcome follows the visitor's address (their
 * last identify's mailbox). Opens, clicks and unsubscribes are recorded as server-side track events on the profile:
 * they open no session, however long after the visitor's last visit they come.
 */
export interface EmailPlan {
  readonly day: number;
  readonly visitor: string;
  readonly engage: readonly Engagement[];
}

/** A journey entered by a track event, split 50/50 between two variants, with a track event as its goal. */
export interface JourneyPlan {
  readonly id: string;
  readonly trigger: string;
  readonly goal: string;
  readonly variants: readonly [string, string];
}

export interface Scenario {
  readonly visits: readonly Visit[];
  readonly crmDeals?: readonly CrmDeal[];
  readonly bots: readonly BotVisit[];
  readonly stageMoves: readonly StageMove[];
  readonly costs: readonly CostInput[];
  readonly emails: readonly EmailPlan[];
  readonly journey?: JourneyPlan;
}

export const EMAIL_TEMPLATE = 'kpi-news';
export const EMAIL_TEMPLATE_MJML = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hello, here is what is new.</mj-text>
  <mj-button href="${SITE}/news">Read the news</mj-button>
  <mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>`;

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
 * an identify with an email and from a form (by fetch and by analytics-node), a form that arrives a day late,
 * MQL/SQL/SAL moves, an order by number, an order by numeric string, a won deal in a visit and one reported by a CRM
 * hours after any visit, costs by channel and campaign, per day and per month; exact duplicates and Googlebot mixed
 * in. On the last day, four visitors start a trial (a journey split 50/50, two reach its goal) and five
 * get an email: delivered, opened by a person and clicked, opened by a crawler, unsubscribed, bounced, complained of.
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
      late: [{ kind: 'formSubmitted', via: 'fetch' }],
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
      actions: [{ kind: 'identify', via: 'fetch', mailbox: 'complaint' }],
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
      actions: [{ kind: 'identify', via: 'fetch', mailbox: 'bounce' }],
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
        { kind: 'track', event: 'Trial Started' },
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
      actions: [
        { kind: 'order', via: 'analytics-node', field: 'total', amount: 50, currency: 'eur' },
        { kind: 'track', event: 'Trial Started' },
      ],
    },
    {
      id: 'v11',
      visitor: 'alice',
      day: 2,
      time: '15:00',
      landing: '/pricing',
      device: 'desktop',
      ...weeklyEmail,
      actions: [
        { kind: 'dealWon', dealId: 'deal-1', amount: 900, currency: 'EUR' },
        { kind: 'track', event: 'Trial Started' },
      ],
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
      actions: [
        { kind: 'formSubmitted', via: 'fetch' },
        { kind: 'track', event: 'Trial Started' },
      ],
    },
    // Alice and Carol come back just before the evening's email, which they open (see EmailPlan), and upgrade.
    {
      id: 'v13',
      visitor: 'alice',
      day: 2,
      time: '19:40',
      landing: '/account',
      device: 'desktop',
      channel: 'direct',
      campaign: null,
      later: [{ kind: 'track', event: 'Plan Upgraded' }],
    },
    {
      id: 'v14',
      visitor: 'carol',
      day: 2,
      time: '19:45',
      landing: '/blog',
      device: 'mobile',
      channel: 'direct',
      campaign: null,
      later: [{ kind: 'track', event: 'Plan Upgraded' }],
    },
  ],
  crmDeals: [{ day: 1, time: '18:00', visitor: 'alice', dealId: 'deal-2', amount: 300, currency: 'EUR' }],
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
  // Delivered and opened by a person, then clicked; delivered only; delivered, opened by a crawler and unsubscribed;
  // bounced; delivered and complained. The emulator has no soft bounce. A click alone also proves a human open
  // (messaging), but not an open: Alice opens before she clicks so the KPIs are unambiguous.
  emails: [
    { day: 2, visitor: 'alice', engage: ['humanOpen', 'click'] },
    { day: 2, visitor: 'bob', engage: [] },
    { day: 2, visitor: 'carol', engage: ['machineOpen', 'unsubscribe'] },
    { day: 2, visitor: 'erin', engage: [] },
    { day: 2, visitor: 'dave', engage: [] },
  ],
  journey: { id: 'kpi-trial', trigger: 'Trial Started', goal: 'Plan Upgraded', variants: ['A', 'B'] },
};

/** Three consecutive UTC days starting tomorrow (the local clock only moves forward). */
export function scenarioDays(now: Date = new Date()): string[] {
  const first = DateTime.fromJSDate(now, { zone: 'utc' }).startOf('day').plus({ days: 1 });
  return [0, 1, 2].map((n) => first.plus({ days: n }).toISODate() ?? '');
}

/** The scenario cut to its first `count` days (a smaller part of the same traffic). */
export function firstDays(scenario: Scenario, count: number): Scenario {
  return {
    // A late action arrives with the next day's traffic: the cut keeps only those that still arrive.
    visits: scenario.visits
      .filter((visit) => visit.day < count)
      .map(({ late, ...visit }) =>
        visit.day < count - 1 && late !== undefined ? { ...visit, late } : visit,
      ),
    ...(scenario.crmDeals === undefined
      ? {}
      : { crmDeals: scenario.crmDeals.filter((deal) => deal.day < count) }),
    bots: scenario.bots.filter((bot) => bot.day < count),
    stageMoves: scenario.stageMoves.filter((move) => move.day < count),
    costs: scenario.costs.filter((cost) => cost.day < count),
    emails: scenario.emails.filter((email) => email.day < count),
    ...(scenario.journey === undefined ? {} : { journey: scenario.journey }),
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
  /** The session the payment happened in, or for a deal reported by a CRM, the visitor's last session before it. */
  readonly lastTouch: Touch;
  readonly lastLanding: string;
  readonly device: Device;
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
  /** Per email sent, what KPIS.md counts for it (each outcome once per message). */
  readonly emails: ReadonlyArray<{ readonly day: string; readonly counts: EmailCounts }>;
  readonly journey: {
    readonly id: string;
    readonly events: ReadonlyArray<{
      readonly day: string;
      readonly visitor: string;
      readonly outcome: 'entered' | 'goal';
    }>;
  } | null;
}

export type EmailCount = (typeof EMAIL_COUNTS)[number];
type EmailCounts = Record<EmailCount, number>;

/** The address a visitor's last identify gave them, as the mailbox simulator sees it. */
function mailboxOf(scenario: Scenario, visitor: string): Mailbox | null {
  let mailbox: Mailbox | null = null;
  for (const visit of scenario.visits)
    if (visit.visitor === visitor)
      for (const action of [...(visit.actions ?? []), ...(visit.later ?? [])])
        if (action.kind === 'identify') mailbox = action.mailbox ?? 'inbox';
  return mailbox;
}

/** KPIS.md's email counts for one message: opens and clicks count the message once, human opens exclude machines. */
function emailCounts(mailbox: Mailbox, engage: readonly Engagement[]): EmailCounts {
  const delivered = mailbox !== 'bounce';
  const did = (engagement: Engagement) => (delivered && engage.includes(engagement) ? 1 : 0);
  return {
    sent: 1,
    delivered: delivered ? 1 : 0,
    hardBounced: mailbox === 'bounce' ? 1 : 0,
    softBounced: 0,
    complained: mailbox === 'complaint' ? 1 : 0,
    opened: Math.max(did('humanOpen'), did('machineOpen')),
    humanOpened: did('humanOpen'),
    clicked: did('click'),
    unsubscribed: did('unsubscribe'),
  };
}

/** Who entered the journey (their first trigger; no re-entry) and who then reached its goal, on which day. */
function journeyEvents(scenario: Scenario, days: readonly string[]): NonNullable<Facts['journey']> | null {
  const plan = scenario.journey;
  if (plan === undefined) return null;
  const events: Array<{ day: string; visitor: string; outcome: 'entered' | 'goal' }> = [];
  const active = new Set<string>();
  const visits = [...scenario.visits].sort((a, b) => a.day - b.day || a.time.localeCompare(b.time));
  const actionsOf = (visit: Visit, phase: 'now' | 'later') =>
    (phase === 'now' ? visit.actions : visit.later) ?? [];
  for (const day of new Set(visits.map((visit) => visit.day)))
    for (const phase of ['now', 'later'] as const)
      for (const visit of visits.filter((v) => v.day === day))
        for (const action of actionsOf(visit, phase)) {
          if (action.kind !== 'track') continue;
          const known = events.some((e) => e.visitor === visit.visitor && e.outcome === 'entered');
          if (action.event === plan.trigger && !known) {
            events.push({ day: days[day] ?? '', visitor: visit.visitor, outcome: 'entered' });
            active.add(visit.visitor);
          } else if (action.event === plan.goal && active.delete(visit.visitor))
            events.push({ day: days[day] ?? '', visitor: visit.visitor, outcome: 'goal' });
        }
  return { id: plan.id, events };
}

const UNKNOWN = '(unknown)';
const NONE = '(none)';
const SOCIAL = ['organic social', 'paid social'];

function daysInMonthOf(day: string): number {
  return DateTime.fromISO(day, { zone: 'utc' }).daysInMonth ?? 30;
}

/**
 * The facts the scenario creates, in the terms of KPIS.md: sessions (each visit), new leads (a visitor's first
 * identify with an email, form or won deal), stage entries (by hand: no session), payments with first touch (the
 * visitor's first visit) and last touch (the visit they paid in, or their last one before a CRM's deal), and costs.
 * Facts follow event time: a late action counts in its visit, whenever it arrives.
 */
export function scenarioFacts(scenario: Scenario, days: readonly string[]): Facts {
  const dayOf = (index: number) => days[index] ?? '';
  const sessions: SessionFact[] = [];
  const leads: Array<{ day: string; session: SessionFact }> = [];
  const payments: Payment[] = [];
  const isLead = new Set<string>();
  const firstTouch = new Map<string, Touch>();
  const lastVisit = new Map<string, { visit: Visit; session: SessionFact }>();
  const paid = new Set<string>();
  const happenings: Array<
    { readonly at: string } & ({ readonly visit: Visit } | { readonly deal: CrmDeal })
  > = [
    ...scenario.visits.map((visit) => ({ at: `${visit.day}|${visit.time}`, visit })),
    ...(scenario.crmDeals ?? []).map((deal) => ({ at: `${deal.day}|${deal.time}`, deal })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const pay = (input: {
    day: string;
    visitor: string;
    amount: number;
    currency: string;
    visit: Visit;
    session: SessionFact;
  }) => {
    const { visit, session } = input;
    // A won deal makes a lead of someone who was none (KPIS.md: "lead or later"), credited to its session.
    payments.push({
      day: input.day,
      visitor: input.visitor,
      amount: input.amount,
      currency: input.currency.toUpperCase(),
      firstTouch: firstTouch.get(input.visitor) ?? visit,
      lastTouch: visit,
      lastLanding: visit.landing,
      device: visit.device,
      firstPayment: !paid.has(input.visitor),
    });
    paid.add(input.visitor);
    return session;
  };
  const becomeLead = (visitor: string, day: string, session: SessionFact) => {
    if (isLead.has(visitor)) return;
    isLead.add(visitor);
    leads.push({ day, session });
  };
  for (const happening of happenings) {
    if ('deal' in happening) {
      const { deal } = happening;
      const last = lastVisit.get(deal.visitor);
      if (last === undefined) throw new Error(`a CRM deal for ${deal.visitor} before any visit`);
      pay({ ...deal, day: dayOf(deal.day), visit: last.visit, session: last.session });
      becomeLead(deal.visitor, dayOf(deal.day), last.session);
      continue;
    }
    const { visit } = happening;
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
    lastVisit.set(visit.visitor, { visit, session });
    if (!firstTouch.has(visit.visitor))
      firstTouch.set(visit.visitor, { channel: visit.channel, campaign: visit.campaign });
    for (const action of [...(visit.actions ?? []), ...(visit.later ?? []), ...(visit.late ?? [])]) {
      // KPIS.md's default: a lead is first known by an email address (an identify with one, a form carrying one);
      // a won deal makes a lead of someone who was none.
      if (action.kind === 'identify' || action.kind === 'formSubmitted' || action.kind === 'dealWon')
        becomeLead(visit.visitor, session.day, session);
      if (action.kind === 'order' || action.kind === 'dealWon')
        pay({ ...action, day: session.day, visitor: visit.visitor, visit, session });
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
    emails: scenario.emails.map((email) => ({
      day: dayOf(email.day),
      counts: emailCounts(mailboxOf(scenario, email.visitor) ?? 'inbox', email.engage),
    })),
    journey: journeyEvents(scenario, days),
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
  // Orders, revenue and new customers belong to the session the payment happened in (last touch).
  const payments = inDays(facts.payments).filter(
    (payment) => where === undefined || lastTouchValue(payment, where.dimension) === where.value,
  );
  return {
    visitors: personDays(sessions),
    sessions: sessions.length,
    pageViews: sessions.reduce((sum, session) => sum + session.pageViews, 0),
    newLeads: leads.length,
    mql: entries.filter((entry) => entry.stage === 'mql').length,
    sql: entries.filter((entry) => entry.stage === 'sql').length,
    sal: entries.filter((entry) => entry.stage === 'sal').length,
    orders: payments.length,
    newCustomers: payments.filter((payment) => payment.firstPayment).length,
  };
}

function lastTouchValue(payment: Payment, dimension: Dimension): string {
  if (dimension === 'landingPage') return payment.lastLanding;
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
  for (const payment of payments) keys.add(lastTouchValue(payment, dimension));
  if (costScope !== undefined) {
    for (const payment of payments) keys.add(firstTouchValue(payment, costScope));
    for (const cost of facts.costs)
      if (cost.scope === costScope && Object.keys(costOn(facts, days, costScope, cost.name)).length > 0)
        keys.add(cost.name);
  }
  const allSessions = sessions.length;
  return [...keys].sort().map((key) => {
    const firstTouch: Money = {};
    const lastTouch: Money = {};
    for (const payment of payments) {
      if (costScope !== undefined && firstTouchValue(payment, costScope) === key)
        add(firstTouch, payment.currency, payment.amount);
      if (lastTouchValue(payment, dimension) === key) add(lastTouch, payment.currency, payment.amount);
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

/** Per journey with events in the days: entered, goal and conversion, overall and per variant (KPIS.md). */
function journeyFigures(input: {
  journey: Facts['journey'];
  days: readonly string[];
  variants: ReadonlyMap<string, string>;
  pValue: unknown;
}) {
  const events = input.journey?.events.filter((event) => input.days.includes(event.day)) ?? [];
  if (input.journey === null || events.length === 0) return {};
  const tally = (of: typeof events) => {
    const entered = of.filter((event) => event.outcome === 'entered').length;
    const goal = of.filter((event) => event.outcome === 'goal').length;
    return { entered, goal, conversionRate: ratio(goal, entered) };
  };
  const whole = tally(events);
  const names = [...new Set(events.map((event) => input.variants.get(event.visitor) ?? NONE))].sort();
  const comparable = names.length >= 2 && whole.goal > 0 && whole.goal < whole.entered;
  return {
    [input.journey.id]: {
      ...whole,
      variants: Object.fromEntries(
        names.map((name) => [
          name,
          {
            ...tally(events.filter((event) => (input.variants.get(event.visitor) ?? NONE) === name)),
            pValue: comparable ? input.pValue : null,
          },
        ]),
      ),
    },
  };
}

/** The KPI report `GET /admin/kpis` must answer for the scenario's facts: every field, computed from the facts. */
export function expectedReport(input: {
  facts: Facts;
  from: string;
  to: string;
  groupBy: GroupBy;
  reference: ReferenceValues;
  /** The variant the journey's split gave each visitor who entered (random, so observed, not planned). */
  variants?: ReadonlyMap<string, string>;
  /**
   * What a variant's p-value must be where it is defined (two variants with entries, a goal rate strictly between 0
   * and 1): a matcher, as the value itself is the product's statistics, not a count of the traffic.
   */
  pValue?: unknown;
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
  const email: EmailCounts = {
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
  for (const sent of facts.emails.filter((e) => days.includes(e.day)))
    for (const outcome of EMAIL_COUNTS) email[outcome] += sent.counts[outcome];
  const bounced = email.hardBounced + email.softBounced;
  const perDelivered = (count: number) => ratio(count, email.delivered);
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
    email: {
      ...email,
      bounced,
      rates: {
        bounced: perDelivered(bounced),
        hardBounced: perDelivered(email.hardBounced),
        softBounced: perDelivered(email.softBounced),
        complaints: perDelivered(email.complained),
        unsubscribed: perDelivered(email.unsubscribed),
        opened: perDelivered(email.opened),
        humanOpened: perDelivered(email.humanOpened),
        clicked: perDelivered(email.clicked),
      },
    },
    journeys: journeyFigures({
      journey: facts.journey,
      days,
      variants: input.variants ?? new Map(),
      pValue: input.pValue ?? null,
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Playing the scenario through the local stack
// ---------------------------------------------------------------------------------------------------------------

export interface StackAccess {
  readonly apiUrl: string;
  readonly writeKey: string;
  readonly adminToken: string;
  /** The local SES emulator's mailbox (`GET /store` lists every accepted email). */
  readonly mailboxUrl: string;
}

const storedEmail = z.object({
  subject: z.string(),
  body: z.object({ html: z.string().optional() }),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
type StoredEmail = z.infer<typeof storedEmail>;
const messageState = z.object({ status: z.string() }).loose();
/** Where a message's sending is over: SES's answer and the mailbox simulator's feedback have arrived. */
const SETTLED_STATUSES: Record<Mailbox, string> = {
  inbox: 'delivered',
  bounce: 'bounced',
  complaint: 'complained',
};

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
  /** The journey's variant per visitor who entered it, as the journeys API shows the enrollment. */
  readonly variants: Map<string, string>;
}

interface Call {
  readonly type: 'page' | 'identify' | 'track';
  readonly messageId: string;
  readonly at: string;
  readonly body: Record<string, unknown>;
}

export class KpiTrafficPlayer {
  readonly log: PlayLog = {
    accepted: 0,
    duplicates: 0,
    failures: [],
    profiles: new Map(),
    variants: new Map(),
  };
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

  /**
   * Plays the scenario day by day: the clock moves to each day's evening, then moves, visits, bots, the visits' later
   * actions, emails. The journey and the template are published first.
   */
  async play(scenario: Scenario): Promise<void> {
    if (scenario.journey !== undefined) await this.publishJourney(scenario.journey);
    if (scenario.emails.length > 0) await this.publishTemplate();
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
      if (visits.some((visit) => (visit.later ?? []).length > 0)) {
        for (const visit of visits) await this.later(visit);
        await this.settle();
      }
      // Yesterday's late actions, then the CRM's deals of the day (each hours after the visitor's last visit).
      const lateVisits = scenario.visits.filter(
        (visit) => visit.day === index - 1 && visit.late !== undefined,
      );
      for (const visit of lateVisits) await this.late(visit);
      for (const deal of (scenario.crmDeals ?? []).filter((d) => d.day === index)) await this.crmDeal(deal);
      if (lateVisits.length > 0 || (scenario.crmDeals ?? []).some((d) => d.day === index))
        await this.settle();
      const emails = scenario.emails.filter((email) => email.day === index);
      if (emails.length > 0) await this.email(scenario, emails);
    }
    await this.analytics.closeAndFlush();
    if (scenario.journey !== undefined) await this.readVariants(scenario.journey);
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
    const email = this.address(
      visit.visitor,
      action.kind === 'identify' ? (action.mailbox ?? 'inbox') : 'inbox',
    );
    const at = this.at(visit, minute);
    const messageId = `${this.run}-${visit.id}-${action.kind}-${minute}`;
    const page = { url: `${SITE}${visit.landing}`, path: visit.landing };
    if (action.kind === 'track') {
      const who = this.identified.has(visit.visitor) ? { userId, anonymousId } : { anonymousId };
      await this.batch([
        {
          type: 'track',
          messageId,
          at,
          body: {
            type: 'track',
            messageId,
            ...who,
            event: action.event,
            properties: {},
            timestamp: at,
            context: { userAgent, page },
          },
        },
      ]);
      return;
    }
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

  private address(visitor: string, mailbox: Mailbox): string {
    return mailbox === 'inbox'
      ? `${visitor}-${this.run}@example.com`
      : `${mailbox}+${visitor}-${this.run}@simulator.amazonses.com`;
  }

  /** The visit's late actions, timestamped in the visit after its other actions, sent now (a day later). */
  private async late(visit: Visit): Promise<void> {
    let minute = 1 + (visit.pages?.length ?? 0) + (visit.actions?.length ?? 0) + (visit.later?.length ?? 0);
    for (const action of visit.late ?? []) {
      minute += 1;
      await this.act({ visit, action, minute, userAgent: USER_AGENTS[visit.device] });
    }
  }

  /** A won deal from a CRM: a server call with the userId only and no browser context, outside any visit. */
  private async crmDeal(deal: CrmDeal): Promise<void> {
    const { userId } = this.ids(deal.visitor);
    const messageId = `${this.run}-crm-${deal.dealId}`;
    const at = DateTime.fromISO(`${this.days[deal.day]}T${deal.time}:00Z`, { zone: 'utc' }).toISO() ?? '';
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
          properties: { dealId: deal.dealId, revenue: deal.amount, currency: deal.currency },
          context: { library: { name: 'crm-sync' } },
        },
      },
    ]);
  }

  /** The visit's later actions, in the same session: they follow its actions a minute apart. */
  private async later(visit: Visit): Promise<void> {
    let minute = 1 + (visit.pages?.length ?? 0) + (visit.actions?.length ?? 0);
    for (const action of visit.later ?? []) {
      minute += 1;
      await this.act({ visit, action, minute, userAgent: USER_AGENTS[visit.device] });
      if (action.kind === 'identify') this.identified.add(visit.visitor);
    }
  }

  private async publishTemplate(): Promise<void> {
    const response = await this.admin(`/admin/templates/${EMAIL_TEMPLATE}`, {
      method: 'PUT',
      body: JSON.stringify({ subject: 'News {{ message.id }}', mjml: EMAIL_TEMPLATE_MJML }),
    });
    if (response.status !== 200 && response.status !== 201)
      this.log.failures.push(`template: ${response.status} ${await response.text()}`);
  }

  private async publishJourney(plan: JourneyPlan): Promise<void> {
    const response = await this.admin(`/admin/journeys/${plan.id}`, {
      method: 'PUT',
      body: JSON.stringify({
        name: 'KPI trial',
        triggers: [{ type: 'event', match: { event: plan.trigger } }],
        goals: [{ id: 'upgraded', match: { event: plan.goal } }],
        start: 'split',
        nodes: {
          split: {
            type: 'split',
            variants: plan.variants.map((name) => ({ name, weight: 1, next: 'hold' })),
          },
          hold: { type: 'wait', duration: 'P30D', next: 'done' },
          done: { type: 'exit' },
        },
      }),
    });
    if (response.status !== 200 && response.status !== 201)
      this.log.failures.push(`journey: ${response.status} ${await response.text()}`);
  }

  private async readVariants(plan: JourneyPlan): Promise<void> {
    const answer = z.object({
      enrollments: z.array(z.object({ journeyId: z.string(), variant: z.string().nullable() }).loose()),
    });
    for (const [visitor, profileId] of this.log.profiles) {
      const response = await this.admin(`/admin/profiles/${encodeURIComponent(profileId)}/journeys`);
      const { enrollments } = answer.parse(await response.json());
      const variant = enrollments.find((enrollment) => enrollment.journeyId === plan.id)?.variant;
      if (variant !== undefined && variant !== null) this.log.variants.set(visitor, variant);
    }
  }

  /** Sends the day's emails, waits for SES's feedback, then opens, clicks and unsubscribes from the received mail. */
  private async email(scenario: Scenario, plans: readonly EmailPlan[]): Promise<void> {
    const sent: Array<{ plan: EmailPlan; messageId: string }> = [];
    for (const plan of plans) {
      const profileId = this.log.profiles.get(plan.visitor);
      if (profileId === undefined) throw new Error(`no profile for ${plan.visitor} yet`);
      const response = await this.admin('/admin/messages', {
        method: 'POST',
        body: JSON.stringify({
          profileId,
          templateId: EMAIL_TEMPLATE,
          idempotencyKey: `${this.run}-${plan.visitor}-${plan.day}`,
        }),
      });
      const text = await response.text();
      if (response.status !== 202) {
        this.log.failures.push(`send to ${plan.visitor}: ${response.status} ${text}`);
        continue;
      }
      sent.push({ plan, messageId: z.object({ messageId: z.string() }).parse(JSON.parse(text)).messageId });
    }
    await this.settle();
    for (const { plan, messageId } of sent) {
      const wanted = SETTLED_STATUSES[mailboxOf(scenario, plan.visitor) ?? 'inbox'];
      let last = '';
      const settled = await this.poll(async () => {
        const response = await this.admin(`/admin/messages/${encodeURIComponent(messageId)}`);
        last = messageState.parse(await response.json()).status;
        return last === wanted ? true : undefined;
      });
      if (settled === undefined) this.log.failures.push(`email to ${plan.visitor}: ${last}, not ${wanted}`);
    }
    // Messaging takes a click within 5 s of the send for a link scanner's.
    await this.clock({ advance: 'PT1M' });
    for (const { plan, messageId } of sent) {
      if (plan.engage.length === 0) continue;
      const mail = await this.poll(async () => {
        const response = await fetch(`${this.stack.mailboxUrl}/store`);
        const { emails } = z.object({ emails: z.array(storedEmail) }).parse(await response.json());
        return emails.find((email) => email.subject.includes(messageId));
      });
      if (mail === undefined) {
        this.log.failures.push(`no mail to ${plan.visitor} in the mailbox`);
        continue;
      }
      for (const engagement of plan.engage) await this.engage({ visitor: plan.visitor, mail, engagement });
    }
    await this.settle();
  }

  private async engage(input: { visitor: string; mail: StoredEmail; engagement: Engagement }): Promise<void> {
    const { mail, engagement } = input;
    const html = mail.body.html ?? '';
    const link = (pattern: RegExp) => pattern.exec(html)?.[1]?.replaceAll('&amp;', '&');
    let request: { url: string | undefined; init: RequestInit; status: number };
    if (engagement === 'humanOpen' || engagement === 'machineOpen')
      request = {
        url: link(/src="([^"]*\/e\/o\/[^"]+)"/),
        init: { headers: { 'user-agent': USER_AGENTS[engagement === 'humanOpen' ? 'desktop' : 'bot'] } },
        status: 200,
      };
    else if (engagement === 'click')
      request = {
        url: link(/href="([^"]*\/e\/c\/[^"]+)"/),
        init: { redirect: 'manual', headers: { 'user-agent': USER_AGENTS.desktop } },
        status: 302,
      };
    else
      request = {
        // RFC 8058's one-click POST to the List-Unsubscribe header's URL.
        url: (mail.headers ?? [])
          .find((header) => header.name.toLowerCase() === 'list-unsubscribe')
          ?.value.slice(1, -1),
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        },
        status: 200,
      };
    if (request.url === undefined) {
      this.log.failures.push(`${engagement} of ${input.visitor}: no link in the mail`);
      return;
    }
    const response = await fetch(request.url, request.init);
    await response.arrayBuffer();
    if (response.status !== request.status)
      this.log.failures.push(`${engagement} of ${input.visitor}: ${response.status}`);
  }

  /** Polls until `check` gives a value, for at most 30 s; undefined when it never does. */
  private async poll<T>(check: () => Promise<T | undefined>): Promise<T | undefined> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const value = await check();
      if (value !== undefined || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
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
