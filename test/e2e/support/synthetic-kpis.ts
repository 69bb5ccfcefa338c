// A few days of synthetic KPI activity played through the real counters and rollup, and the KPI API's answer for them.

import {
  GROUP_BYS,
  type GroupBy,
  type KpiReport,
  kpiCsv,
  kpiReport,
  lifetimeTotals,
} from '../../../functions/kpis/query.ts';
import type { CostEntry, KpiDay } from '../../../functions/kpis/rollup.ts';
import { rollupDay } from '../../../functions/kpis/rollup.ts';
import {
  type DomainEvent,
  journey,
  message,
  play,
  revenueAttributed,
  stageChanged,
  tracked,
} from '../../unit/kpis/fixtures.ts';

export const SYNTHETIC_DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'] as const;
const at = (day: string, time: string) => `${day}T${time}:00.000Z`;
const [D1, D2, D3] = SYNTHETIC_DAYS;

const searchSession = {
  channel: 'organic search',
  campaign: null,
  landingPage: '/pricing',
  device: 'desktop',
} as const;
const socialSession = {
  channel: 'paid social',
  campaign: 'spring',
  landingPage: '/promo',
  device: 'mobile',
} as const;
const emailSession = {
  channel: 'email',
  campaign: 'newsletter',
  landingPage: '/pricing',
  device: 'desktop',
} as const;

/** Traffic on three channels over three days, leads through the funnel, an order and a deal, email and a journey. */
const EVENTS: readonly DomainEvent[] = [
  tracked({
    key: 'a1',
    profileId: 'a',
    at: at(D1, '09:00'),
    sessionStart: true,
    ...searchSession,
    device: 'desktop',
  }),
  tracked({ key: 'a2', profileId: 'a', at: at(D1, '09:02'), session: searchSession }),
  stageChanged({
    key: '1',
    profileId: 'a',
    at: at(D1, '09:03'),
    from: null,
    to: 'lead',
    session: searchSession,
  }),
  tracked({
    key: 'b1',
    profileId: 'b',
    at: at(D1, '10:00'),
    sessionStart: true,
    ...socialSession,
    device: 'mobile',
  }),
  tracked({
    key: 'c1',
    profileId: 'c',
    at: at(D1, '11:00'),
    sessionStart: true,
    channel: 'direct',
    landingPage: '/',
  }),
  stageChanged({
    key: '1',
    profileId: 'b',
    at: at(D2, '08:00'),
    from: null,
    to: 'lead',
    session: socialSession,
  }),
  tracked({
    key: 'b2',
    profileId: 'b',
    at: at(D2, '07:59'),
    sessionStart: true,
    ...socialSession,
    device: 'mobile',
  }),
  tracked({
    key: 'd1',
    profileId: 'd',
    at: at(D2, '12:00'),
    sessionStart: true,
    ...emailSession,
    device: 'desktop',
  }),
  stageChanged({
    key: '1',
    profileId: 'd',
    at: at(D2, '12:01'),
    from: null,
    to: 'lead',
    session: emailSession,
  }),
  stageChanged({
    key: '2',
    profileId: 'd',
    at: at(D2, '12:02'),
    from: 'lead',
    to: 'mql',
    session: emailSession,
  }),
  stageChanged({ key: '2', profileId: 'a', at: at(D2, '13:00'), from: 'lead', to: 'mql', session: null }),
  tracked({
    key: 'a3',
    profileId: 'a',
    at: at(D2, '14:00'),
    type: 'track',
    event: 'Order Completed',
    properties: { revenue: 120, currency: 'EUR' },
    session: searchSession,
    firstTouch: { channel: 'organic search', campaign: null },
  }),
  tracked({
    key: 'e1',
    profileId: 'e',
    at: at(D3, '09:00'),
    sessionStart: true,
    channel: 'organic social',
    landingPage: '/blog',
    device: 'tablet',
  }),
  tracked({
    key: 'f1',
    profileId: 'f',
    at: at(D3, '09:30'),
    sessionStart: true,
    ...searchSession,
    device: 'mobile',
  }),
  stageChanged({ key: '3', profileId: 'd', at: at(D3, '10:00'), from: 'mql', to: 'sql', session: null }),
  stageChanged({ key: '4', profileId: 'd', at: at(D3, '11:00'), from: 'sql', to: 'sal', session: null }),
  revenueAttributed({
    profileId: 'd',
    dealId: 'deal-1',
    at: at(D3, '15:00'),
    revenue: 900,
    currency: 'EUR',
    firstTouch: { channel: 'email', campaign: 'newsletter' },
    lastTouch: { channel: 'email', campaign: 'newsletter' },
  }),
  ...['m1', 'm2', 'm3', 'm4'].map((id) =>
    message({ detailType: 'message.sent', messageId: id, profileId: 'a', at: at(D1, '08:00') }),
  ),
  ...['m1', 'm2', 'm3'].map((id) =>
    message({ detailType: 'message.delivered', messageId: id, profileId: 'a', at: at(D1, '08:01') }),
  ),
  message({ detailType: 'message.bounced', messageId: 'm4', profileId: 'a', at: at(D1, '08:01') }),
  message({ detailType: 'message.opened', messageId: 'm1', profileId: 'a', at: at(D1, '08:30') }),
  message({ detailType: 'message.opened', messageId: 'm2', profileId: 'a', at: at(D1, '08:31') }),
  message({ detailType: 'message.clicked', messageId: 'm1', profileId: 'a', at: at(D1, '08:32') }),
  message({ detailType: 'contact.unsubscribed', messageId: 'm3', profileId: 'a', at: at(D2, '08:00') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'a', variant: 'A', at: at(D1, '09:03') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'b', variant: 'B', at: at(D2, '08:00') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'd', variant: 'A', at: at(D2, '12:01') }),
  journey({ outcome: 'goal', journeyId: 'welcome', profileId: 'a', variant: 'A', at: at(D2, '14:00') }),
];

export const SYNTHETIC_COSTS: readonly CostEntry[] = [
  { scope: 'channel', name: 'paid social', period: '2026-05', amount: 310, currency: 'EUR' },
  { scope: 'channel', name: 'email', period: D2, amount: 40, currency: 'EUR' },
];

/** The rolled-up days, as the KPI API reads them from the counter store. */
export async function syntheticKpiDays(): Promise<KpiDay[]> {
  const store = await play(EVENTS);
  return Promise.all(SYNTHETIC_DAYS.map(async (day) => rollupDay(await store.readDay(day))));
}

function isGroupBy(value: string): value is GroupBy {
  return GROUP_BYS.some((groupBy) => groupBy === value);
}

/** What `GET /admin/kpis?from&to&groupBy[&format=csv]` answers for these days: built by the KPI report itself. */
export function syntheticKpiAnswer(
  days: readonly KpiDay[],
  query: URLSearchParams,
): { status: number; contentType: string; body: string } {
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const groupBy = query.get('groupBy') ?? 'none';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to) || !isGroupBy(groupBy))
    return { status: 400, contentType: 'application/json', body: '{"error":"bad query"}' };
  const report: KpiReport = kpiReport({
    days,
    from,
    to,
    groupBy,
    costs: SYNTHETIC_COSTS,
    lifetime: lifetimeTotals(days.filter((day) => day.day <= to)),
  });
  return query.get('format') === 'csv'
    ? { status: 200, contentType: 'text/csv; charset=utf-8', body: kpiCsv(report) }
    : { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(report) };
}
